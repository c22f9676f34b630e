"""What the theme's subscribe form needs (partials/subscribe-form.html), passed to mkdocs as `config.extra`.

The form is shown only when status.yaml sets `notifications.api_url`: it posts, as a plain HTML form that
works without JavaScript, to `statusgen serve`'s /v1/subscriptions.
"""
from __future__ import annotations

from ..content.model import Config

EXTRA_KEY = "statusgen_subscribe"

STRINGS = {
    "title": {"ko": "업데이트 구독", "ja": "更新情報を購読", "en": "Subscribe to updates"},
    "intro": {"ko": "장애와 점검 소식을 메일로 받습니다. 확인 메일의 링크를 눌러야 구독이 시작됩니다.",
              "ja": "障害とメンテナンスのお知らせをメールでお届けします。確認メールのリンクを開くと購読が始まります。",
              "en": "Get incident and maintenance notices by e-mail. Your subscription starts when you open the link we send."},
    "email": {"ko": "메일 주소", "ja": "メールアドレス", "en": "E-mail address"},
    "language": {"ko": "알림 언어", "ja": "通知の言語", "en": "Language of the notices"},
    "choose": {"ko": "리전·구성 요소 선택 (선택하지 않으면 전체)", "ja": "リージョン・コンポーネントを選ぶ（未選択ならすべて）",
               "en": "Choose regions and components (none chosen: all)"},
    "regions": {"ko": "리전", "ja": "リージョン", "en": "Regions"},
    "components": {"ko": "구성 요소", "ja": "コンポーネント", "en": "Components"},
    "submit": {"ko": "구독", "ja": "購読する", "en": "Subscribe"},
}
LANGUAGE_NAMES = {"ko": "한국어", "ja": "日本語", "en": "English"}


def subscribe_extra(config: Config) -> dict:
    """`{EXTRA_KEY: ...}` for mkdocs' `extra`, or {} when the site has no API to post to."""
    api_url = config.notifications.api_url
    if not api_url:
        return {}
    services = {s.id: s for s in config.services}
    regions = {r.id: r for r in config.regions}
    return {EXTRA_KEY: {
        "action": f"{api_url.rstrip('/')}/v1/subscriptions",
        "languages": [{"id": lang, "name": LANGUAGE_NAMES[lang]} for lang in config.languages],
        "regions": [{"id": r.id, "name": r.name.model_dump()} for r in config.regions],
        "components": [{"id": c.id, "name": {lang: f"{regions[c.region].name.get(lang)} · "
                                                   f"{services[c.service].name.get(lang)}" for lang in config.languages}}
                       for c in config.components],
        "strings": {lang: {key: text[lang] for key, text in STRINGS.items()} for lang in config.languages},
    }}
