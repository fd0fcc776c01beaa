"""Chinese words the actions ask about, as bot/nlp/english.py answers them for English:
periods (上个月, 十月, 10月份, 2026年9月, 前两个月), pointing back (这张, 上一张), every invoice,
"not solved", what is wrong with a charge, and the names of charges (虚拟机, 带宽).

Only Chinese characters match here, so a message in either language can be asked both modules
(bot/nlp/words.py does).
"""
from __future__ import annotations

import re
from datetime import date

_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10,
           "十一": 11, "十二": 12}
_MONTH_NUMBER = r"(1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_YEAR_MONTH = re.compile(rf"((?:19|20)\d{{2}})\s*年\s*{_MONTH_NUMBER}\s*月")
_MONTH = re.compile(rf"(去年|今年)?\s*{_MONTH_NUMBER}\s*月(?:份)?")
_RELATIVE = [
    (re.compile(r"上上个?月"), -2),
    (re.compile(r"前(两|二|2)个?月"), -2),
    (re.compile(r"上个?月|上月份?"), -1),
    (re.compile(r"这个月|这月|本月|当月|今月"), 0),
    (re.compile(r"下个?月"), 1),
]


def _month_number(raw: str) -> int:
    return int(raw) if raw.isdigit() else _DIGITS[raw]


def _shift(today: date, months: int) -> str:
    index = today.year * 12 + today.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def periods(text: str, today: date) -> list[str]:
    """Every billing period the text names, in the order written (`YYYY-MM`). A month without a
    year is the most recent such month that has started, as in English."""
    found: list[tuple[int, str]] = []
    taken: list[range] = []

    def add(match: re.Match, period: str) -> None:
        if not any(match.start() in span for span in taken):
            found.append((match.start(), period))
            taken.append(range(match.start(), match.end()))

    for m in _YEAR_MONTH.finditer(text):
        add(m, f"{int(m.group(1)):04d}-{_month_number(m.group(2)):02d}")
    for pattern, step in _RELATIVE:
        for m in pattern.finditer(text):
            add(m, _shift(today, step))
    for m in _MONTH.finditer(text):
        month = _month_number(m.group(2))
        if m.group(1) == "去年":
            year = today.year - 1
        elif m.group(1) == "今年":
            year = today.year
        else:
            year = today.year if month <= today.month else today.year - 1
        add(m, f"{year:04d}-{month:02d}")
    return [period for _, period in sorted(found)]


_COMPARISON = re.compile(r"比|相比|对比|比较|较|跟.{0,8}比|和.{0,8}比")
_BACK_REFERENCE = re.compile(r"这张|那张|这笔|那笔|这份|那份|该账单|该发票|这个账单|那个账单|它")
_PLURAL = re.compile(r"所有|全部|都|每张|哪些")
_PREVIOUS = re.compile(r"上一张|前一张|上一份|上一期|上一个|之前那张|前面那张")
_TWO_BACK = re.compile(r"上上一?张|前两张|再往前一张")
_NEXT = re.compile(r"下一张|后一张|下一期|下一份")
_ALL_INVOICES = re.compile(r"(所有|全部|历史|每一?张)(的)?(账单|帐单|发票)|(账单|帐单|发票)(列表|清单)|有哪些(账单|帐单|发票)")
_NOT_SOLVED = re.compile(r"没(有)?(解决|处理|好|变|退|改)|还没|仍然|依然|还是(没|不|一样|有)|不行|没用|老样子|一样的问题")
_COMPLAINT = re.compile(r"没(有)?(订|买|用|开通|申请)过?|不对|错了|有误|多收|多扣|乱收|不认|没同意|不合理|超出|比约定")
_SPECIAL_COMPLAINTS = [
    ("already_paid", re.compile(r"已经(付|支付|交|缴)|(付|交|缴)过了|已付|付清")),
    ("charged_twice", re.compile(r"两次|重复|两遍|双重|扣了两")),
    ("whole_invoice", re.compile(r"全部|整张|总额|总金额|合计|总价")),
]
# The usual charge types, by the Chinese words for them, as the billing data describes the lines.
CHARGE_WORDS = {"虚拟机": "virtual machines", "云主机": "virtual machines", "计算": "virtual machines",
                "存储": "storage", "磁盘": "storage", "硬盘": "storage", "带宽": "bandwidth", "流量": "bandwidth",
                "预留实例": "reserved instance purchase", "预留": "reserved instance purchase"}
SHORT_FOLLOW_UP_CHARS = 16


def compares(text: str) -> bool:
    """"这个月比上个月多了多少", "和九月相比": a month named to compare with."""
    return bool(_COMPARISON.search(text))


def refers_back(text: str) -> bool:
    """"这张什么时候到期?", "它付了吗": a short follow-up about one thing already talked about."""
    chinese = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return 0 < len(chinese) <= SHORT_FOLLOW_UP_CHARS and bool(_BACK_REFERENCE.search(text)) \
        and not _PLURAL.search(text)


def months_from_focus(text: str) -> int | None:
    if _TWO_BACK.search(text):
        return -2
    if _PREVIOUS.search(text):
        return -1
    if _NEXT.search(text):
        return 1
    return None


def asks_for_all_invoices(text: str) -> bool:
    return bool(_ALL_INVOICES.search(text))


def says_not_solved(text: str) -> bool:
    return bool(_NOT_SOLVED.search(text))


def says_what_is_wrong(text: str) -> bool:
    return bool(_COMPLAINT.search(text))


def special_complaint(text: str) -> str | None:
    return next((name for name, pattern in _SPECIAL_COMPLAINTS if pattern.search(text)), None)


def mentioned_charge(text: str, descriptions: list[str]) -> str | None:
    """The invoice line a Chinese message names ("带宽这项", "虚拟机费用")."""
    by_meaning = {d.strip().lower(): d for d in descriptions}
    for word, meaning in CHARGE_WORDS.items():
        if word in text and meaning in by_meaning:
            return by_meaning[meaning]
    return None


_ENGLISH = re.compile(r"英文|英语")
_CHINESE = re.compile(r"中文|汉语|普通话|国语")


def named_language(text: str) -> str | None:
    """"请用英文" -> "en", "说中文" -> "zh"."""
    if _ENGLISH.search(text):
        return "en"
    return "zh" if _CHINESE.search(text) else None


_SPECIAL_FAPIAO = re.compile(r"专票|专用发票|专用|抵扣")
_ORDINARY_FAPIAO = re.compile(r"普票|普通发票|普通")
_TITLE = re.compile(r"抬头\s*(?:是|为|写|：|:)?\s*[“\"]?([^”\"，。,\s]{2,80})")


def fapiao_type_named(text: str) -> str | None:
    """"开专票" -> "special", "普通发票就行" -> "ordinary"."""
    if _SPECIAL_FAPIAO.search(text):
        return "special"
    return "ordinary" if _ORDINARY_FAPIAO.search(text) else None


def fapiao_title(text: str) -> str | None:
    """"抬头是康托索（上海）科技有限公司" -> "康托索（上海）科技有限公司"."""
    m = _TITLE.search(text)
    return m.group(1) if m else None


_TODAY = re.compile(r"今天|今日|当天|今儿")


def means_today(text: str) -> bool:
    """“今天有哪些变更？”：只看今天的记录。"""
    return bool(_TODAY.search(text))


_SCORE_WORDS = re.compile(r"([一二三四五])\s*(?:分|星|颗星)")
_SCORE_VALUES = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}


_SCALE = re.compile(r"满分\s*[5五]\s*分?")


def without_scale(text: str) -> str:
    """"满分5分，打4分" is a 4."""
    return _SCALE.sub(" ", text)


def scores_named(text: str) -> set[int]:
    """Satisfaction scores written in characters: "打五分", "五星", "给四颗星"."""
    return {_SCORE_VALUES[char] for char in _SCORE_WORDS.findall(text)}

