//! English and Japanese: one [`Text`] per locale, checked by the compiler
//! (a string missing in one language does not build).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    #[default]
    En,
    Ja,
}

impl Locale {
    pub fn parse(s: &str) -> Option<Locale> {
        match s {
            "en" => Some(Locale::En),
            "ja" => Some(Locale::Ja),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ja => "ja",
        }
    }

    pub fn text(self) -> &'static Text {
        match self {
            Locale::En => &EN,
            Locale::Ja => &JA,
        }
    }
}

/// The time zones offered in the preferences (any IANA name is accepted
/// through the API).
pub const ZONES: &[&str] = &[
    "Asia/Tokyo",
    "UTC",
    "Asia/Singapore",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
];

/// Every string the pages show.
#[derive(Debug)]
pub struct Text {
    pub title: &'static str,
    pub sign_in: &'static str,
    pub login: &'static str,
    pub password: &'static str,
    pub code: &'static str,
    pub queue: &'static str,
    pub next: &'static str,
    pub case: &'static str,
    pub service: &'static str,
    pub rule: &'static str,
    pub action: &'static str,
    pub older_than_hours: &'static str,
    pub priority: &'static str,
    pub money_at_risk: &'static str,
    pub score: &'static str,
    pub waiting: &'static str,
    pub account: &'static str,
    pub family: &'static str,
    pub claim: &'static str,
    pub release: &'static str,
    pub claimed_by: &'static str,
    pub filter: &'static str,
    pub any: &'static str,
    pub decisions: &'static str,
    pub reasons: &'static str,
    pub features: &'static str,
    pub timeline: &'static str,
    pub notes: &'static str,
    pub add_note: &'static str,
    pub history: &'static str,
    pub approve: &'static str,
    pub decline: &'static str,
    pub reason: &'static str,
    pub close_case: &'static str,
    pub disposition: &'static str,
    pub note_required: &'static str,
    pub analysts: &'static str,
    pub create: &'static str,
    pub role: &'static str,
    pub sign_out: &'static str,
    pub sign_out_everywhere: &'static str,
    pub language: &'static str,
    pub time_zone: &'static str,
    pub save: &'static str,
    pub no_cases: &'static str,
    pub open: &'static str,
    pub closed: &'static str,
    pub held: &'static str,
    pub event: &'static str,
    pub time: &'static str,
    pub kind: &'static str,
    pub amount: &'static str,
    pub outcome: &'static str,
    pub approved: &'static str,
    pub declined: &'static str,
    pub labels: &'static str,
    pub keys_hint: &'static str,
    pub totp_once: &'static str,
    pub confirmed_fraud: &'static str,
    pub false_positive: &'static str,
    pub legitimate: &'static str,
    pub unable_to_verify: &'static str,
    pub sign_in_failed: &'static str,
}

impl Text {
    /// The words for a disposition's stable name.
    pub fn disposition(&self, d: crate::acts::Disposition) -> &'static str {
        use crate::acts::Disposition::*;
        match d {
            ConfirmedFraud => self.confirmed_fraud,
            FalsePositive => self.false_positive,
            Legitimate => self.legitimate,
            UnableToVerify => self.unable_to_verify,
        }
    }
}

pub static EN: Text = Text {
    title: "sekimori workbench",
    sign_in: "Sign in",
    login: "Login",
    password: "Password",
    code: "Authenticator code",
    queue: "Queue",
    next: "Next case",
    case: "Case",
    service: "Service",
    rule: "Rule",
    action: "Action",
    older_than_hours: "Waiting at least (hours)",
    priority: "Priority",
    money_at_risk: "Money at risk",
    score: "Score",
    waiting: "Waiting",
    account: "Account",
    family: "Family",
    claim: "Claim",
    release: "Release",
    claimed_by: "Claimed by",
    filter: "Filter",
    any: "any",
    decisions: "Decisions",
    reasons: "Reasons",
    features: "Feature values",
    timeline: "Account timeline",
    notes: "Notes",
    add_note: "Add note",
    history: "Case history",
    approve: "Approve",
    decline: "Decline",
    reason: "Reason",
    close_case: "Close case",
    disposition: "Disposition",
    note_required: "Note (required)",
    analysts: "Analysts",
    create: "Create",
    role: "Role",
    sign_out: "Sign out",
    sign_out_everywhere: "Sign out everywhere",
    language: "Language",
    time_zone: "Time zone",
    save: "Save",
    no_cases: "No open cases.",
    open: "open",
    closed: "closed",
    held: "held for review",
    event: "Event",
    time: "Time",
    kind: "Type",
    amount: "Amount",
    outcome: "Outcome",
    approved: "approved",
    declined: "declined",
    labels: "Labels",
    keys_hint: "Keys: j / k move, Enter opens, n takes the next case.",
    totp_once: "Add this to the analyst's authenticator app now; it is not shown again:",
    confirmed_fraud: "Confirmed fraud",
    false_positive: "False positive",
    legitimate: "Legitimate",
    unable_to_verify: "Unable to verify",
    sign_in_failed: "Sign-in failed: check the login, the password and the code.",
};

pub static JA: Text = Text {
    title: "sekimori ワークベンチ",
    sign_in: "サインイン",
    login: "ログインID",
    password: "パスワード",
    code: "認証コード",
    queue: "キュー",
    next: "次の案件",
    case: "案件",
    service: "サービス",
    rule: "ルール",
    action: "アクション",
    older_than_hours: "待ち時間（時間以上）",
    priority: "優先度",
    money_at_risk: "リスク金額",
    score: "スコア",
    waiting: "待ち時間",
    account: "口座",
    family: "ファミリー",
    claim: "担当する",
    release: "担当を外す",
    claimed_by: "担当者",
    filter: "絞り込み",
    any: "すべて",
    decisions: "判定",
    reasons: "理由",
    features: "特徴量",
    timeline: "口座のタイムライン",
    notes: "メモ",
    add_note: "メモを追加",
    history: "案件の履歴",
    approve: "承認",
    decline: "拒否",
    reason: "理由",
    close_case: "案件をクローズ",
    disposition: "判定結果",
    note_required: "メモ（必須）",
    analysts: "アナリスト",
    create: "作成",
    role: "役割",
    sign_out: "サインアウト",
    sign_out_everywhere: "すべての端末からサインアウト",
    language: "言語",
    time_zone: "タイムゾーン",
    save: "保存",
    no_cases: "未処理の案件はありません。",
    open: "対応中",
    closed: "クローズ",
    held: "保留中（審査待ち）",
    event: "イベント",
    time: "日時",
    kind: "種別",
    amount: "金額",
    outcome: "結果",
    approved: "承認済み",
    declined: "拒否済み",
    labels: "ラベル",
    keys_hint: "キー操作: j / k で移動、Enter で開く、n で次の案件",
    totp_once: "この内容を今すぐアナリストの認証アプリに登録してください。再表示されません:",
    confirmed_fraud: "不正確定",
    false_positive: "誤検知",
    legitimate: "正当な取引",
    unable_to_verify: "確認不能",
    sign_in_failed:
        "サインインできませんでした。ログインID、パスワード、コードを確認してください。",
};
