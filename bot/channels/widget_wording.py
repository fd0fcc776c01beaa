"""What the widget's channel itself says (not the assistant's answers) and the invoice PDF's labels,
in English and Chinese.

One small table so it moves in one go into the reply layer (bot/replies/) when that lands.
"""
from __future__ import annotations

from typing import Any

SENTENCES: dict[str, dict[str, str]] = {
    "too_many": {
        "en": "You're sending messages faster than I can answer them. Please wait a few seconds and try again "
              "(at most {limit} messages in {seconds} seconds).",
        "zh": "您发送消息的速度太快了，请稍等几秒再试（{seconds} 秒内最多 {limit} 条消息）。",
    },
    "too_long": {
        "en": "That message is too long for me to read (at most {max_chars} characters). "
              "Could you ask your question in a few sentences?",
        "zh": "这条消息太长了（最多 {max_chars} 个字符），请用几句话提出您的问题。",
    },
    "cut": {
        "en": "Your message is long, so I've read only the first {analysed_chars} characters. "
              "If I miss your question, please ask it on its own.",
        "zh": "您的消息很长，我只读了前 {analysed_chars} 个字符。如果没有回答到您的问题，请单独再问一次。",
    },
    "questions_read": {
        "en": "Your message is long, so I've answered the questions in it.",
        "zh": "您的消息很长，我回答了其中的问题。",
    },
    "unreadable": {
        "en": "I couldn't read that message. Please type your question as text.",
        "zh": "我无法读取这条消息，请以文字输入您的问题。",
    },
    "sign_in_expired": {
        "en": "Your sign-in has expired, so I can't continue this conversation. Please sign in again on the "
              "site (refreshing the page usually does it).",
        "zh": "您的登录已过期，无法继续此对话。请在网站上重新登录（通常刷新页面即可）。",
    },
    "sign_in_invalid": {
        "en": "I couldn't verify your sign-in. Please sign out and sign in again on the site.",
        "zh": "无法验证您的登录信息，请在网站上退出后重新登录。",
    },
    "origin": {
        "en": "This chat can only be opened from your provider's website.",
        "zh": "此聊天只能从您的服务商网站打开。",
    },
    "not_yours": {
        "en": "This conversation belongs to someone else, so I can't continue it for you.",
        "zh": "此对话属于其他人，我无法为您继续。",
    },
    "unavailable": {
        "en": "Sorry, I can't look that up right now. Please try again in a moment; nothing you've said is lost.",
        "zh": "抱歉，我暂时无法查询。请稍后再试，您说过的内容都不会丢失。",
    },
    "english_only": {
        "en": "抱歉，我目前只能用英文回答。请用英文提问，例如 \"What is my balance?\"\n"
              "Sorry, I can only answer in English for now. Please ask in English, for example \"What is my balance?\"",
        "zh": "抱歉，我目前只能用英文回答。请用英文提问，例如 \"What is my balance?\"\n"
              "Sorry, I can only answer in English for now. Please ask in English, for example \"What is my balance?\"",
    },
    "pdf_refused": {
        "en": "This link is not valid (any more). Please ask for the invoice again in the chat.",
        "zh": "此链接无效或已过期，请在聊天中重新查询该发票。",
    },
    "download_pdf": {"en": "Download the PDF", "zh": "下载 PDF"},
    # The invoice PDF (bot/documents/invoice_pdf.py)
    "pdf_title": {"en": "Invoice {number}", "zh": "发票 {number}"},
    "pdf_billed_to": {"en": "Billed to", "zh": "客户"},
    "pdf_period": {"en": "Period", "zh": "账单周期"},
    "pdf_issued": {"en": "Issued", "zh": "开具日期"},
    "pdf_due": {"en": "Due", "zh": "到期日"},
    "pdf_status": {"en": "Status", "zh": "状态"},
    "pdf_paid": {"en": "Paid", "zh": "已付清"},
    "pdf_outstanding": {"en": "Unpaid: {amount} outstanding", "zh": "未付：待付 {amount}"},
    "pdf_description": {"en": "Description", "zh": "项目"},
    "pdf_amount": {"en": "Amount", "zh": "金额"},
    "pdf_total": {"en": "Total", "zh": "合计"},
    "pdf_payments": {"en": "Payments received", "zh": "已收款项"},
    "pdf_how_to_pay": {"en": "How to pay", "zh": "付款方式"},
    "pdf_payment_details": {
        "en": "Bank transfer to {partner}, quoting {number} as the payment reference; Alipay or WeChat Pay; "
              "or corporate card. A payment usually shows on your account within one business day.",
        "zh": "银行转账至 {partner}，付款附言请注明 {number}；支付宝或微信支付；或公司信用卡。"
              "付款通常在一个工作日内到账。",
    },
}


def say(key: str, locale: str, **values: Any) -> str:
    phrases = SENTENCES[key]
    return (phrases.get(locale) or phrases["en"]).format(**values)
