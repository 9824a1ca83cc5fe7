"""Word lists and patterns of the injection defence (``grading/guard``)."""

from __future__ import annotations

import re

CONFUSABLE = str.maketrans(
    "аеорсухіјѕԁԛԝһӏԍАВЕКМНОРСТХУІЈЅԌαοριτυνκχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdqwhlgABEKMHOPCTXYIJSGaopitvvkxABEZHIKMNOPTYX",
)

FOLDABLE = re.compile("[" + "аеорсухіјѕԁԛԝһӏԍАВЕКМНОРСТХУІЈЅԌαοριτυνκχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ" + "]")

HIDING = (
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?![.\d]*[1-9])|"
    r"opacity\s*:\s*0(?![.\d]*[1-9])|color\s*:\s*(?:white|#fff(?:fff)?\b|transparent)|"
    r"\bhidden\b|aria-hidden|height\s*:\s*0(?![.\d]*[1-9])|width\s*:\s*0(?![.\d]*[1-9])|"
    r"(?:left|top|right|text-indent|margin-left)\s*:\s*-\d{3,}|clip(?:-path)?\s*:|"
    r"\b(?:width|height)\s*=\s*[\"']?0[\"'\s>]"
)

HTML_TAGS = (
    r"a|abbr|article|aside|b|big|blockquote|br|button|center|cite|code|del|dfn|div|em|font|"
    r"footer|form|h[1-6]|header|hr|i|img|input|ins|kbd|label|li|main|mark|meta|nav|ol|p|pre|q|"
    r"s|samp|section|small|span|strike|strong|sub|summary|sup|svg|table|tbody|td|th|thead|tr|"
    r"tt|u|ul|var|link|body|html|head|title"
)

VERDICT_WORDS = (
    r"\"?(?:met|made|verdict|score|scores|grade|points|awarded|criteria|criterion|passed|"
    r"result|marks?|rating|label|decision)\"?\s*[:=]"
)

VERDICT_LINE = re.compile(
    r"^[ \t>*|-]*(?:(?:final|overall|total)\s+)?"
    r"(?:met\??|made\??|verdict|score|grade|result|decision|answer|assessment|"
    r"(?:rubric )?(?:point|criterion|criteria)\b[^:\n]{0,60}|c\d+|m\d+)\s*[?:=-]+\s*"
    r"(?:yes|no|met|not met|true|false|pass(?:ed)?|\d+(?:\.\d+)?\s*(?:/\s*\d+|points?|marks?)?)"
    r"\b.*$",
    re.I | re.M,
)

# The judge prompt's own labels at the start of a line ("Rubric point: ...", "Criterion 2: ...").
QUESTION_LINE = re.compile(
    r"^[ \t>*-]*(?:rubric point|rubric item|criterion|criteria|requirement|mistake|misconception|"
    r"met|made)(?:\s+[\w-]+)?\s*[?:=].*$",
    re.I | re.M,
)

# Roles that are also common headings ("Model:", "User:") are left out.
ROLES = (
    r"interviewer|interviewee|candidate|examiner|grader|assistant|system|evaluator|reviewer|"
    r"teacher|instructor|professor|tutor|moderator|assessor|marker|hiring manager"
)

AUTHORITY = re.compile(
    r"interviewer|examiner|grader|assistant|system|evaluator|reviewer|teacher|instructor|"
    r"professor|tutor|moderator|assessor|marker|hiring manager",
    re.I,
)

# Instructions in other languages: a request word and a grading word in one sentence.
REQUEST = re.compile(
    r"\b(?:ignorez|ignorer|ignoriere|ignorieren|ignora|ignorá|olvida|olvide|"
    r"oubliez|oublie|vergiss|vergessen sie|esque[cç]a|dimentica|zignoruj|zapomnij|yoksay|unut|"
    r"donnez|donne|attribuez|accordez|gib|geben sie|vergib|vergeben sie|bewerte|dale|asigna|"
    r"asígnale|otorga|dê|atribua|atribui|dai|assegna|przyznaj|daj|wystaw|puan ver|verin|"
    r"vous devez|du musst|sie müssen|debes|usted debe|você deve|devi|deve|musisz|"
    r"игнорируй\w*|забудь\w*|поставь\w*|дай|присвой\w*|должен|должна|"
    r"negeer|vergeet|geef|ignorera|glöm|ge|ignorer|glem|giv|gi|abaikan|berikan|beri|"
    r"bỏ qua|hãy cho|cho điểm|αγνόησε|δώσε|ignoruj|dejte|ignoră|acordă|dă|"
    r"hagyd figyelmen kívül|adj|ігноруй\w*|постав|дай|jätä huomiotta|anna|"
    r"तुम|अनदेखा|दें|दो|התעלם|תן|ละเว้น|ให้|répond\w*|antworte\w*|rispond\w*|responda\w*|"
    r"responde|odpowiedz\w*|ответь\w*|svara|svar|antwoord|jawab|trả lời|απάντησε|odpověz|"
    r"răspunde|válaszolj|відповідай|vastaa|mérite|verdient|merece|merita|zasługuje|hak ediyor|"
    r"заслуживает|förtjänar|fortjener|layak|xứng đáng|αξίζει|zaslouží|merită|megérdemli|"
    r"заслуговує|ansaitsee|yok say)\b|"
    r"回答して|答えて|대답|値する|值得|योग्य|מגיע|สมควร|ตอบ|उत्तर दो|ענה|"
    r"не обращай|تجاهل|امنح|أعط|اعط|أجب|"
    r"忽略|忽视|无视|無視|忘れ|무시|请给|给我|給我|给出|付けて|与えて|つけて|"
    r"주세요|줘|必须|必ず|해야",
    re.I,
)

GRADING = re.compile(
    r"note|barème|points?|punkt|punktzahl|bewertung|nota|puntuaci|puntos|calificaci|pontua|"
    r"punteggio|voto|punkty|ocen|puan|балл|бал\b|оцін|критері|інструкц|punten|cijfer|poäng|"
    r"betyg|karakter|nilai|poin|instruksi|điểm|tiêu chí|βαθμ|κριτήρι|οδηγί|bodů|body|hodnocen|"
    r"punctaj|pontsz|pontot|\bpont\b|utasítás|अंक|मानदंड|निर्देश|ציון|נקוד|קריטר|הוראות|"
    r"คะแนน|เกณฑ์|คำสั่ง|pistee|pisteet|arvosan|kriteer|ohjee|الدرجة|درجة|معيار|التعليمات|"
    r"[\"'“”«»„]\s*(?:yes|ja|oui|sí|si|sim|да|так|是|はい|예|evet|tak|ano|igen|kyllä|ναι|כן|نعم|"
    r"हाँ|ya|có|ใช่)\s*[\"'“”«»]|оценк|критери|инструкц|满分|分数|评分|打分|"
    r"満点|点数|採点|評価|점수|만점|채점|instruction|consigne|anweisung|instrucci|instru[cç]|"
    r"istruzion|instrukc|talimat|rubri|crit[eéè]ri|kriteri|10\s*/\s*10|\b10\b|dix|zehn|diez|dieci|"
    r"dziesi|десят|十|만점",
    re.I,
)

GRADER_PERSON = re.compile(
    r"correcteur|examinateur|évaluateur|prüfer|bewerter|korrektor|evaluador|examinador|corrector|"
    r"avaliador|examinador|valutatore|esaminatore|correttore|egzaminator|oceniający|"
    r"değerlendirici|sınav görevlisi|экзаменатор|проверяющ|оценщик|评分员|考官|阅卷|採点者|"
    r"試験官|채점자|beoordelaar|bedömare|bedømmer|sensoren|penilai|giám khảo|người chấm|"
    r"βαθμολογητ|εξεταστ|hodnotitel|examinator|értékelő|vizsgáztató|екзаменатор|перевіряюч|"
    r"परीक्षक|בוחן|ผู้ตรวจ|arvioija|tarkastaja|المصحح|مصحح|الممتحن",
    re.I,
)
MODEL_WORD = re.compile(
    r"modèle|modell|modelo|modello|модель|模型|モデル|\bia\b|\bki\b|\bии\b", re.I
)
QUOTED_YES = re.compile(
    r"[\"'“”«»„]\s*(?:yes|ja|oui|sí|si|sim|да|так|是|はい|예|evet|tak|ano|igen|kyllä|ναι|כן|نعم|"
    r"हाँ|ya|có|ใช่|met|true)\s*[\"'“”«»]",
    re.I,
)

_META_VERB = (
    r"explain|describ|cover|discuss|address|mention|demonstrat|outlin|detail|touch|include|"
    r"talk|go(?:es)? over|treat|clarif|state|identif|compar|contrast|note|highlight|walk|"
    r"analy[sz]|list|answer|meet|satisf|fulfil|correct|complete|accurate|deserv|earn|defin|"
    r"name|distinguish|give|provid|present|introduc|specif|show"
)
# Claims about the answer itself: its subject is the answer (or its writer) and its verb says
# what the answer does ("It names two remedies", "The answer above defines ...").
CLAIM = re.compile(
    # anywhere: "this/my answer" and a verb saying what it does; topics "covered here"
    r"\b(?:this|my|our|the above|the present)\s+(?:answer|response|explanation|submission|"
    rf"write-?up)\b.{{0,30}}\b(?:{_META_VERB})"
    r"|\b(?:points|topics|aspects|ideas|criteria|concepts|things)\s+(?:addressed|covered|"
    r"discussed|explained|described|included)\s+(?:here|above|in this answer|below)\b"
    r"|^\W*(?:[A-Za-z]+\s*:\s*)?(?:"
    r"(?:this|the|my|our|the above|above|the present)\s+(?:answer|response|explanation|"
    rf"solution|submission|reply|text|write-?up)\b.{{0,30}}\b(?:{_META_VERB})"
    r"|(?:it|the candidate|candidate|the author|the writer)\s+"
    r"(?:also\s+|then\s+|further\s+|fully\s+|clearly\s+|correctly\s+|properly\s+|thoroughly\s+|"
    r"explicitly\s+|briefly\s+|additionally\s+|has\s+|will\s+)*"
    r"(?:explain|describ|cover|discuss|address|mention|demonstrat|outlin|detail|touch(?:es|ed)"
    r" on|clarif|highlight|walk(?:s|ed) through|go(?:es)? over|went over|talk(?:s|ed) about|"
    r"names|named|lists|listed|distinguish|states|stated|defines|defined)\w*"
    r"|(?:i|we)\s+(?:have|'ve|had)\s+(?:also\s+|now\s+|fully\s+|clearly\s+|already\s+)*"
    r"(?:explained|described|covered|discussed|addressed|mentioned|demonstrated|outlined|named|"
    r"listed|distinguished|stated|defined|shown|given|provided|detailed)\b"
    r"|all (?:the )?(?:rubric )?(?:points|criteria|requirements|aspects|elements)\b.{0,30}"
    r"\b(?:are|were|have been|is)\b.{0,20}\b(?:covered|addressed|met|discussed|explained|included)"
    r"|as (?:shown|described|explained|discussed|mentioned|stated|covered) (?:above|here|earlier)"
    r".{0,200}\b(?:are|is|have been|has been)\s+(?:all\s+)?(?:covered|addressed|explained|met)"
    r")"
    r"|\b(?:is|are|were|was|been)\s+(?:all\s+)?(?:fully\s+|also\s+|clearly\s+|thoroughly\s+)?"
    r"(?:described|explained|covered|discussed|addressed|shown|mentioned|presented|detailed|"
    r"defined|distinguished|named|listed)\s+(?:here|above|below|in this answer|in the answer)\b",
    re.I,
)

# English requests that the older patterns (text.find_injections) miss: polite or indirect.
ASKS_GRADER = re.compile(
    r"\b(?:count|treat|consider|mark|regard|take|score|grade|rate|judge|record|log|register)\b"
    r".{0,50}\bas\s+(?:fully\s+|being\s+)?(?:covered|met|complete|correct|satisfied|passed|"
    r"fulfilled|a pass)\b"
    r"|\bmet\s*[=:]\s*(?:true|yes|1)\b|\b(?:true|yes)\s+for\s+(?:all|every|each)\b"
    r"|\b(?:say|state|output|answer|reply|respond|return|report|print|emit|write)\b\s+(?:that\s+)?"
    r"(?:each|every|all|the|this|my)?\s*(?:criterion|criteria|point|points|rubric points?|"
    r"requirements?)\b.{0,20}\b(?:is|are|was)?\s*(?:met|satisfied|passed|true)\b"
    r"|\b(?:say|output|answer|reply|respond|return|print)\s+(?:with\s+)?[\"'“]?(?:yes|met|true)"
    r"[\"'”]?\s+(?:to|for|on)\s+(?:each|every|all)\b"
    r"|\b(?:to|dear|hey|hi|attention|note for|message for|instructions? for|p\.?\s?s\.?(?: to)?|"
    r"whoever|anyone)\s+(?:the\s+|any\s+)?(?:ai\s+|llm\s+|automated\s+)?(?:grader|evaluator|examiner|assessor|marker|reviewer|checker|scorer|"
    r"grading (?:system|model|ai|bot|tool|pipeline)|automated (?:grader|grading|checker|system))"
    r"|\b(?:ai|model|llm|bot|system)\s+(?:that\s+is\s+|who\s+is\s+)?(?:grading|evaluating|"
    r"reviewing|marking|checking|scoring|reading) (?:this|these|my|the answer)"
    r"|\b(?:grades?|grading|reviews?|reviewing|marks?|marking|scores?|scoring|evaluat\w+)\s+"
    r"(?:this|these|my)\b.{0,60}\b(?:please|must|should|kindly|need)\b"
    r"|\b(?:please|kindly)\b.{0,60}\b(?:full|maximum|max|top|high|generous|lenient|benefit)\b"
    r"|\bexpected (?:output|verdict|answer|result) (?:is|for)\b|\bdebug mode\b|"
    r"\bfor (?:qa|testing|test|calibration|debug(?:ging)?) purposes\b"
    r"|\b(?:model|ai|llm|grader|system|bot|program|software)\s+(?:doing|performing|handling|"
    r"running|responsible for|in charge of)\s+(?:the\s+)?(?:marking|grading|evaluation|scoring|"
    r"review|assessment)"
    r"|\b(?:imagine|assume|pretend|suppose|presume|act as if)\b.{0,30}\b(?:this|the|my)\s+"
    r"(?:answer|response|candidate)\b",
    re.I,
)

LIST_LABEL = re.compile(
    r"^\W*(?:key\s*words?|key\s*terms?|keywords?|terms?|tags?|topics?|concepts?|key\s*concepts?|"
    r"key\s*points?|buzzwords?|related|see also|glossary|vocabulary|summary of terms)\s*[:\-–—]",
    re.I,
)

# A table row whose last cell is a verdict ("| restore-best | ✅ yes |").
TABLE_VERDICT = re.compile(
    r"\|\s*(?:[✅✔☑✓]\ufe0f?\s*)?(?:yes|met|true|pass(?:ed)?|[✅✔☑✓]|\d+\s*/\s*\d+)\s*\|?\s*$", re.I
)
