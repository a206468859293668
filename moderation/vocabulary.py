"""The controlled vocabulary of a decision.

Keys follow the EU DSA Transparency Database's statement-of-reasons schema
(digital-services-act/transparency-database, `app/Models/Statement.php`) wherever it has one;
keys it lacks (flags, no-action decisions, the silent visibility restrictions called shadowbans,
community reports and legal orders as sources) are ours and follow its naming. Stored values are
never reused for a different meaning.
"""

from __future__ import annotations

from django.db import models


class DecisionType(models.TextChoices):
    RESTRICTION = "DECISION_TYPE_RESTRICTION", "Restriction"
    FLAG = "DECISION_TYPE_FLAG", "Flag (no restriction yet)"
    NO_ACTION = "DECISION_TYPE_NO_ACTION", "No action (notice or flag rejected)"
    REVERSAL = "DECISION_TYPE_REVERSAL", "Reversal of an earlier decision"
    EXPIRY = "DECISION_TYPE_EXPIRY", "Expiry of an earlier restriction"


# Decision types that change an earlier decision and so must point at it.
CHANGING_TYPES = frozenset({DecisionType.REVERSAL, DecisionType.EXPIRY})


class Visibility(models.TextChoices):
    CONTENT_REMOVED = "DECISION_VISIBILITY_CONTENT_REMOVED", "Content removed"
    CONTENT_DISABLED = "DECISION_VISIBILITY_CONTENT_DISABLED", "Content disabled"
    CONTENT_DEMOTED = "DECISION_VISIBILITY_CONTENT_DEMOTED", "Demoted"
    CONTENT_AGE_RESTRICTED = "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED", "Age-restricted"
    CONTENT_INTERACTION_RESTRICTED = (
        "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        "Interaction-restricted",
    )
    CONTENT_LABELLED = "DECISION_VISIBILITY_CONTENT_LABELLED", "Labelled"
    # Ours: the silent restrictions. The DSA export maps them to DECISION_VISIBILITY_OTHER.
    SEARCH_EXCLUDED = "DECISION_VISIBILITY_SEARCH_EXCLUDED", "Excluded from search"
    RECOMMENDATIONS_EXCLUDED = (
        "DECISION_VISIBILITY_RECOMMENDATIONS_EXCLUDED",
        "Excluded from recommendations",
    )
    HIDDEN_FROM_NON_FOLLOWERS = (
        "DECISION_VISIBILITY_HIDDEN_FROM_NON_FOLLOWERS",
        "Hidden from non-followers",
    )
    OTHER = "DECISION_VISIBILITY_OTHER", "Other visibility restriction"


REMOVAL_VISIBILITY = frozenset({Visibility.CONTENT_REMOVED, Visibility.CONTENT_DISABLED})
# Restrictions the creator is typically not told about: what people call a shadowban.
SILENT_VISIBILITY = frozenset(
    {
        Visibility.CONTENT_DEMOTED,
        Visibility.SEARCH_EXCLUDED,
        Visibility.RECOMMENDATIONS_EXCLUDED,
        Visibility.HIDDEN_FROM_NON_FOLLOWERS,
    }
)


class Monetary(models.TextChoices):
    SUSPENSION = "DECISION_MONETARY_SUSPENSION", "Monetary payments suspended"
    TERMINATION = "DECISION_MONETARY_TERMINATION", "Monetary payments terminated"
    OTHER = "DECISION_MONETARY_OTHER", "Other monetary restriction"


class Provision(models.TextChoices):
    PARTIAL_SUSPENSION = "DECISION_PROVISION_PARTIAL_SUSPENSION", "Service partially suspended"
    TOTAL_SUSPENSION = "DECISION_PROVISION_TOTAL_SUSPENSION", "Service suspended"
    PARTIAL_TERMINATION = "DECISION_PROVISION_PARTIAL_TERMINATION", "Service partially terminated"
    TOTAL_TERMINATION = "DECISION_PROVISION_TOTAL_TERMINATION", "Service terminated"


class AccountAction(models.TextChoices):
    SUSPENDED = "DECISION_ACCOUNT_SUSPENDED", "Account suspended"
    TERMINATED = "DECISION_ACCOUNT_TERMINATED", "Account terminated"


class AccountType(models.TextChoices):
    BUSINESS = "ACCOUNT_TYPE_BUSINESS", "Business"
    PRIVATE = "ACCOUNT_TYPE_PRIVATE", "Private"


class Ground(models.TextChoices):
    ILLEGAL_CONTENT = "DECISION_GROUND_ILLEGAL_CONTENT", "Illegal content"
    INCOMPATIBLE_CONTENT = "DECISION_GROUND_INCOMPATIBLE_CONTENT", "Incompatible with the terms"


class Category(models.TextChoices):
    ANIMAL_WELFARE = "STATEMENT_CATEGORY_ANIMAL_WELFARE", "Animal welfare"
    CONSUMER_INFORMATION = "STATEMENT_CATEGORY_CONSUMER_INFORMATION", "Consumer information"
    CYBER_VIOLENCE = "STATEMENT_CATEGORY_CYBER_VIOLENCE", "Cyber violence"
    CYBER_VIOLENCE_AGAINST_WOMEN = (
        "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
        "Cyber violence against women",
    )
    DATA_PROTECTION_AND_PRIVACY_VIOLATIONS = (
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        "Data protection and privacy violations",
    )
    ILLEGAL_OR_HARMFUL_SPEECH = (
        "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "Illegal or harmful speech",
    )
    INTELLECTUAL_PROPERTY_INFRINGEMENTS = (
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        "Intellectual property infringements",
    )
    NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS = (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        "Negative effects on civic discourse or elections",
    )
    NOT_SPECIFIED_NOTICE = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", "Not specified (notice)"
    OTHER_VIOLATION_TC = "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", "Other violation of the terms"
    PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "Protection of minors"
    RISK_FOR_PUBLIC_SECURITY = (
        "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
        "Risk for public security",
    )
    SCAMS_AND_FRAUD = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "Scams and fraud"
    SELF_HARM = "STATEMENT_CATEGORY_SELF_HARM", "Self-harm"
    UNSAFE_AND_PROHIBITED_PRODUCTS = (
        "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
        "Unsafe and prohibited products",
    )
    VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE", "Violence"


_KEYWORDS = """
ADULT_SEXUAL_MATERIAL AGE_SPECIFIC_RESTRICTIONS AGE_SPECIFIC_RESTRICTIONS_MINORS ANIMAL_HARM
BIOMETRIC_DATA_BREACH BULLYING_AGAINST_GIRLS CHILD_SEXUAL_ABUSE_MATERIAL
CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE CONTENT_PROMOTING_EATING_DISORDERS COORDINATED_HARM
COPYRIGHT_INFRINGEMENT CYBER_BULLYING_INTIMIDATION CYBER_HARASSMENT
CYBER_HARASSMENT_AGAINST_WOMEN CYBER_INCITEMENT CYBER_STALKING CYBER_STALKING_AGAINST_WOMEN
DATA_FALSIFICATION DEFAMATION DESIGN_INFRINGEMENT DISCRIMINATION FEMALE_GENDERED_DISINFORMATION
GEOGRAPHIC_INDICATIONS_INFRINGEMENT GEOGRAPHICAL_REQUIREMENTS GOODS_SERVICES_NOT_PERMITTED
GROOMING_SEXUAL_ENTICEMENT_MINORS HATE_SPEECH HIDDEN_ADVERTISEMENT HUMAN_EXPLOITATION
HUMAN_TRAFFICKING ILLEGAL_ORGANIZATIONS IMPERSONATION_ACCOUNT_HIJACKING INAUTHENTIC_ACCOUNTS
INAUTHENTIC_LISTINGS INAUTHENTIC_USER_REVIEWS INCITEMENT_AGAINST_WOMEN
INCITEMENT_VIOLENCE_HATRED INSUFFICIENT_INFORMATION_ON_TRADERS LANGUAGE_REQUIREMENTS
MISINFORMATION_DISINFORMATION MISLEADING_INFO_CONSUMER_RIGHTS MISLEADING_INFO_GOODS_SERVICES
MISSING_PROCESSING_GROUND NON_CONSENSUAL_IMAGE_SHARING NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN
NON_CONSENSUAL_MATERIAL_DEEPFAKE NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN
NONCOMPLIANCE_PRICING NUDITY PATENT_INFRINGEMENT PHISHING PROHIBITED_PRODUCTS PYRAMID_SCHEMES
RIGHT_TO_BE_FORGOTTEN RISK_ENVIRONMENTAL_DAMAGE RISK_PUBLIC_HEALTH SELF_MUTILATION STALKING
SUICIDE TERRORIST_CONTENT TRADE_SECRET_INFRINGEMENT TRADEMARK_INFRINGEMENT
TRAFFICKING_WOMEN_GIRLS UNLAWFUL_SALE_ANIMALS UNSAFE_CHALLENGES UNSAFE_PRODUCTS
VIOLATION_EU_LAW VIOLATION_NATIONAL_LAW OTHER
""".split()  # noqa: SIM905

Keyword = models.TextChoices(  # type: ignore[call-overload]
    "Keyword", [(k, (f"KEYWORD_{k}", k.replace("_", " ").capitalize())) for k in _KEYWORDS]
)


class ContentType(models.TextChoices):
    APP = "CONTENT_TYPE_APP", "App"
    AUDIO = "CONTENT_TYPE_AUDIO", "Audio"
    IMAGE = "CONTENT_TYPE_IMAGE", "Image"
    PRODUCT = "CONTENT_TYPE_PRODUCT", "Product"
    SYNTHETIC_MEDIA = "CONTENT_TYPE_SYNTHETIC_MEDIA", "Synthetic media"
    TEXT = "CONTENT_TYPE_TEXT", "Text"
    VIDEO = "CONTENT_TYPE_VIDEO", "Video"
    OTHER = "CONTENT_TYPE_OTHER", "Other"


# ISO 639-1, upper-case, as the DSA database's ALL_LANGUAGES.
_LANGUAGES = """
AA AB AE AF AK AM AN AR AS AV AY AZ BA BE BG BI BM BN BO BR BS CA CE CH CO CR CS CU CV CY DA DE
DV DZ EE EL EN EO ES ET EU FA FF FI FJ FO FR FY GA GD GL GN GU GV HA HE HI HO HR HT HU HY HZ IA
ID IE IG II IK IO IS IT IU JA JV KA KG KI KJ KK KL KM KN KO KR KS KU KV KW KY LA LB LG LI LN LO
LT LU LV MG MH MI MK ML MN MR MS MT MY NA NB ND NE NG NL NN NO NR NV NY OC OJ OM OR OS PA PI PL
PS PT QU RM RN RO RU RW SA SC SD SE SG SI SK SL SM SN SO SQ SR SS ST SU SV SW TA TE TG TH TI TK
TL TN TO TR TS TT TW TY UG UK UR UZ VE VI VO WA WO XH YI YO ZA ZH ZU
""".split()  # noqa: SIM905
LANGUAGES = frozenset(_LANGUAGES)
Language = models.TextChoices("Language", [(c, (c, c)) for c in _LANGUAGES])  # type: ignore[call-overload]

# The EEA, as the DSA database accepts it (GR, not EL).
_EEA = "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK"
Country = models.TextChoices("Country", [(c, (c, c)) for c in _EEA.split()])  # type: ignore[call-overload]


class Source(models.TextChoices):
    ARTICLE_16 = "SOURCE_ARTICLE_16", "User notice (DSA Art. 16)"
    TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER", "Trusted flagger"
    OTHER_NOTIFICATION = "SOURCE_TYPE_OTHER_NOTIFICATION", "Other notification"
    VOLUNTARY = "SOURCE_VOLUNTARY", "Own initiative"
    # Ours. The DSA export maps both to SOURCE_TYPE_OTHER_NOTIFICATION.
    COMMUNITY_REPORT = "SOURCE_COMMUNITY_REPORT", "Community report"
    LEGAL_ORDER = "SOURCE_LEGAL_ORDER", "Legal order"


class AutomatedDecision(models.TextChoices):
    FULLY = "AUTOMATED_DECISION_FULLY", "Fully automated"
    PARTIALLY = "AUTOMATED_DECISION_PARTIALLY", "Partially automated"
    NOT_AUTOMATED = "AUTOMATED_DECISION_NOT_AUTOMATED", "Not automated"


class Action(models.TextChoices):
    """The one-word summary of what a decision did, its most severe effect.

    Derived at record time from the detailed fields and stored, because every list filter and
    statistic groups by it; the detailed fields stay the record of truth.
    """

    FLAG = "FLAG", "Flag"
    NO_ACTION = "NO_ACTION", "No action"
    VISIBILITY = "VISIBILITY_RESTRICTION", "Visibility restriction"
    REMOVAL = "REMOVAL", "Removal or disabling"
    MONETARY = "MONETARY_RESTRICTION", "Monetary restriction"
    SERVICE = "SERVICE_RESTRICTION", "Service suspension or termination"
    ACCOUNT_SUSPENSION = "ACCOUNT_SUSPENSION", "Account suspension"
    ACCOUNT_TERMINATION = "ACCOUNT_TERMINATION", "Account termination"
    REVERSAL = "REVERSAL", "Reversal"
    EXPIRY = "EXPIRY", "Expiry"


class SubjectKind(models.TextChoices):
    ACCOUNT = "account", "Account"
    CONTENT = "content", "Content"


# The statement-of-reasons fields in the DSA schema's order, by group. Every representation of
# a decision that follows that schema (the API's output, the admin's form) lists them from here.
RESTRICTION_FIELDS = (
    "decision_visibility",
    "decision_visibility_other",
    "end_date_visibility_restriction",
    "decision_monetary",
    "decision_monetary_other",
    "end_date_monetary_restriction",
    "decision_provision",
    "end_date_service_restriction",
    "decision_account",
    "end_date_account_restriction",
    "account_type",
)
GROUND_FIELDS = (
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
)
CATEGORY_FIELDS = (
    "category",
    "category_addition",
    "category_specification",
    "category_specification_other",
)


# ISO 639-1 names in English, for the codes of `Language` (a test ties the two).
LANGUAGE_NAMES: dict[str, str] = {
    "AA": "Afar",
    "AB": "Abkhazian",
    "AE": "Avestan",
    "AF": "Afrikaans",
    "AK": "Akan",
    "AM": "Amharic",
    "AN": "Aragonese",
    "AR": "Arabic",
    "AS": "Assamese",
    "AV": "Avaric",
    "AY": "Aymara",
    "AZ": "Azerbaijani",
    "BA": "Bashkir",
    "BE": "Belarusian",
    "BG": "Bulgarian",
    "BI": "Bislama",
    "BM": "Bambara",
    "BN": "Bengali",
    "BO": "Tibetan",
    "BR": "Breton",
    "BS": "Bosnian",
    "CA": "Catalan",
    "CE": "Chechen",
    "CH": "Chamorro",
    "CO": "Corsican",
    "CR": "Cree",
    "CS": "Czech",
    "CU": "Church Slavonic",
    "CV": "Chuvash",
    "CY": "Welsh",
    "DA": "Danish",
    "DE": "German",
    "DV": "Divehi",
    "DZ": "Dzongkha",
    "EE": "Ewe",
    "EL": "Greek",
    "EN": "English",
    "EO": "Esperanto",
    "ES": "Spanish",
    "ET": "Estonian",
    "EU": "Basque",
    "FA": "Persian",
    "FF": "Fulah",
    "FI": "Finnish",
    "FJ": "Fijian",
    "FO": "Faroese",
    "FR": "French",
    "FY": "Western Frisian",
    "GA": "Irish",
    "GD": "Scottish Gaelic",
    "GL": "Galician",
    "GN": "Guarani",
    "GU": "Gujarati",
    "GV": "Manx",
    "HA": "Hausa",
    "HE": "Hebrew",
    "HI": "Hindi",
    "HO": "Hiri Motu",
    "HR": "Croatian",
    "HT": "Haitian Creole",
    "HU": "Hungarian",
    "HY": "Armenian",
    "HZ": "Herero",
    "IA": "Interlingua",
    "ID": "Indonesian",
    "IE": "Interlingue",
    "IG": "Igbo",
    "II": "Sichuan Yi",
    "IK": "Inupiaq",
    "IO": "Ido",
    "IS": "Icelandic",
    "IT": "Italian",
    "IU": "Inuktitut",
    "JA": "Japanese",
    "JV": "Javanese",
    "KA": "Georgian",
    "KG": "Kongo",
    "KI": "Kikuyu",
    "KJ": "Kuanyama",
    "KK": "Kazakh",
    "KL": "Kalaallisut",
    "KM": "Khmer",
    "KN": "Kannada",
    "KO": "Korean",
    "KR": "Kanuri",
    "KS": "Kashmiri",
    "KU": "Kurdish",
    "KV": "Komi",
    "KW": "Cornish",
    "KY": "Kyrgyz",
    "LA": "Latin",
    "LB": "Luxembourgish",
    "LG": "Ganda",
    "LI": "Limburgish",
    "LN": "Lingala",
    "LO": "Lao",
    "LT": "Lithuanian",
    "LU": "Luba-Katanga",
    "LV": "Latvian",
    "MG": "Malagasy",
    "MH": "Marshallese",
    "MI": "Maori",
    "MK": "Macedonian",
    "ML": "Malayalam",
    "MN": "Mongolian",
    "MR": "Marathi",
    "MS": "Malay",
    "MT": "Maltese",
    "MY": "Burmese",
    "NA": "Nauru",
    "NB": "Norwegian Bokmål",
    "ND": "North Ndebele",
    "NE": "Nepali",
    "NG": "Ndonga",
    "NL": "Dutch",
    "NN": "Norwegian Nynorsk",
    "NO": "Norwegian",
    "NR": "South Ndebele",
    "NV": "Navajo",
    "NY": "Chichewa",
    "OC": "Occitan",
    "OJ": "Ojibwa",
    "OM": "Oromo",
    "OR": "Odia",
    "OS": "Ossetian",
    "PA": "Punjabi",
    "PI": "Pali",
    "PL": "Polish",
    "PS": "Pashto",
    "PT": "Portuguese",
    "QU": "Quechua",
    "RM": "Romansh",
    "RN": "Kirundi",
    "RO": "Romanian",
    "RU": "Russian",
    "RW": "Kinyarwanda",
    "SA": "Sanskrit",
    "SC": "Sardinian",
    "SD": "Sindhi",
    "SE": "Northern Sami",
    "SG": "Sango",
    "SI": "Sinhala",
    "SK": "Slovak",
    "SL": "Slovenian",
    "SM": "Samoan",
    "SN": "Shona",
    "SO": "Somali",
    "SQ": "Albanian",
    "SR": "Serbian",
    "SS": "Swati",
    "ST": "Southern Sotho",
    "SU": "Sundanese",
    "SV": "Swedish",
    "SW": "Swahili",
    "TA": "Tamil",
    "TE": "Telugu",
    "TG": "Tajik",
    "TH": "Thai",
    "TI": "Tigrinya",
    "TK": "Turkmen",
    "TL": "Tagalog",
    "TN": "Tswana",
    "TO": "Tongan",
    "TR": "Turkish",
    "TS": "Tsonga",
    "TT": "Tatar",
    "TW": "Twi",
    "TY": "Tahitian",
    "UG": "Uyghur",
    "UK": "Ukrainian",
    "UR": "Urdu",
    "UZ": "Uzbek",
    "VE": "Venda",
    "VI": "Vietnamese",
    "VO": "Volapük",
    "WA": "Walloon",
    "WO": "Wolof",
    "XH": "Xhosa",
    "YI": "Yiddish",
    "YO": "Yoruba",
    "ZA": "Zhuang",
    "ZH": "Chinese",
    "ZU": "Zulu",
}
# The EEA as `Country` knows it, by English short name.
COUNTRY_NAMES: dict[str, str] = {
    "AT": "Austria",
    "BE": "Belgium",
    "BG": "Bulgaria",
    "CY": "Cyprus",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GR": "Greece",
    "HR": "Croatia",
    "HU": "Hungary",
    "IE": "Ireland",
    "IS": "Iceland",
    "IT": "Italy",
    "LI": "Liechtenstein",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MT": "Malta",
    "NL": "Netherlands",
    "NO": "Norway",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "SE": "Sweden",
    "SI": "Slovenia",
    "SK": "Slovakia",
}
