"""The wallboard's words in English, Romanian and Turkish, and the locale that formats numbers.

KPI names follow the seed articles (Romanian and Turkish editions of the same text), so the
floor reads the terms its managers already use. Numbers, percentages and times are formatted
in the browser with ``Intl`` for ``locale`` (``87,5 %`` in Romanian, ``%87,5`` in Turkish).
"""

from __future__ import annotations

LANGUAGES: dict[str, str] = {"en": "en-GB", "ro": "ro-RO", "tr": "tr-TR"}
"""``?lang=`` value -> BCP 47 locale for number and time formats (24-hour clock in all three)."""

DEFAULT_LANGUAGE = "en"

LABELS: dict[str, dict[str, str]] = {
    # short_*: a tile's row names (the acronyms the seed articles use too); the full name is
    # the row's tooltip and the header's label.
    "en": {
        "title": "Contact center live",
        "overall": "All queues",
        "waiting": "Waiting",
        "longest_wait": "Longest wait",
        "today": "Today",
        "last_15m": "Last 15 min",
        "target": "Target",
        "service_level": "Service level",
        "abandonment": "Abandonment",
        "asa_seconds": "Avg speed of answer",
        "aht_seconds": "Avg handle time",
        "csat": "CSAT",
        "nps": "NPS",
        "fcr": "First contact resolution",
        "offered": "Offered",
        "answered": "Answered",
        "abandoned": "Abandoned",
        "page": "Page {n} of {m}",
        "updated": "Updated",
        "event_clock": "Data as of",
        "offline": "Connection lost - reconnecting",
        "no_queues": "No contacts yet today",
        "short_service_level": "Service level",
        "short_abandonment": "Abandonment",
        "short_asa_seconds": "ASA",
        "short_aht_seconds": "AHT",
        "short_csat": "CSAT",
        "short_nps": "NPS",
        "short_fcr": "FCR",
        "col_15m": "15 min",
    },
    "ro": {
        "title": "Centrul de contact live",
        "overall": "Toate cozile",
        "waiting": "În așteptare",
        "longest_wait": "Cea mai lungă așteptare",
        "today": "Azi",
        "last_15m": "Ultimele 15 min",
        "target": "Țintă",
        "service_level": "Nivel de serviciu",
        "abandonment": "Rata de abandon",
        "asa_seconds": "Timp mediu de răspuns",
        "aht_seconds": "Timp mediu de manipulare",
        "csat": "Satisfacția clienților (CSAT)",
        "nps": "Net Promoter Score",
        "fcr": "Rezoluție la primul contact",
        "offered": "Primite",
        "answered": "Preluate",
        "abandoned": "Abandonate",
        "page": "Pagina {n} din {m}",
        "updated": "Actualizat",
        "event_clock": "Date până la",
        "offline": "Conexiune pierdută - se reconectează",
        "no_queues": "Niciun contact azi",
        "short_service_level": "Nivel serviciu",
        "short_abandonment": "Abandon",
        "short_asa_seconds": "ASA",
        "short_aht_seconds": "AHT",
        "short_csat": "CSAT",
        "short_nps": "NPS",
        "short_fcr": "FCR",
        "col_15m": "15 min",
    },
    "tr": {
        "title": "Çağrı merkezi canlı",
        "overall": "Tüm kuyruklar",
        "waiting": "Bekleyen",
        "longest_wait": "En uzun bekleme",
        "today": "Bugün",
        "last_15m": "Son 15 dk",
        "target": "Hedef",
        "service_level": "Hizmet seviyesi",
        "abandonment": "Vazgeçme oranı",
        "asa_seconds": "Ort. cevaplama süresi",
        "aht_seconds": "Ortalama işlem süresi",
        "csat": "Müşteri memnuniyeti (CSAT)",
        "nps": "Net Tavsiye Puanı",
        "fcr": "İlk temasta çözüm",
        "offered": "Gelen",
        "answered": "Cevaplanan",
        "abandoned": "Vazgeçen",
        "page": "Sayfa {n}/{m}",
        "updated": "Güncellendi",
        "event_clock": "Veri zamanı",
        "offline": "Bağlantı koptu - yeniden bağlanıyor",
        "no_queues": "Bugün henüz temas yok",
        "short_service_level": "Hizmet seviyesi",
        "short_abandonment": "Vazgeçme",
        "short_asa_seconds": "ASA",
        "short_aht_seconds": "AHT",
        "short_csat": "CSAT",
        "short_nps": "NPS",
        "short_fcr": "FCR",
        "col_15m": "15 dk",
    },
}


def language(requested: str | None) -> str:
    """The supported language closest to ``?lang=`` (``ro-RO`` -> ``ro``); else English."""
    code = (requested or "").strip().lower().split("-")[0].split("_")[0]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE
