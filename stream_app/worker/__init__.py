"""The faust worker: topics, agents and tables, and the stages of the data path they run."""
