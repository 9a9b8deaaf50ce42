//! What an analyst reads on a page when something went wrong, in the
//! analyst's language, keyed by the error's stable code ([`WbError::code`]).
//! The REST API keeps its stable English `code` and message; only the HTML
//! pages use these texts. Never a value the analyst or a service typed:
//! an error message never repeats one.

use super::WbError;
use crate::i18n::Locale;

/// An error's text in `locale`: a sentence per code, then what is known of
/// the error (the field's path, the role needed, the thing not found) in
/// words of the same language.
pub fn message(locale: Locale, e: &WbError) -> String {
    match locale {
        Locale::En => e.to_string(),
        Locale::Ja => ja(e),
    }
}

fn ja(e: &WbError) -> String {
    match e {
        WbError::Invalid { path, .. } if path.is_empty() => "入力が正しくありません。".into(),
        WbError::Invalid { path, .. } => format!("入力が正しくありません（項目: {path}）。"),
        WbError::SignInFailed => {
            "サインインできませんでした。ログイン名・パスワード・コードを確認してください。"
                .into()
        }
        WbError::Throttled => {
            "サインインの失敗が多すぎます。しばらく待ってからやり直してください。".into()
        }
        WbError::NoSession => "サインインしてください。".into(),
        WbError::Csrf => {
            "フォームの CSRF トークンがないか正しくありません。ページを再読み込みしてください。"
                .into()
        }
        WbError::Forbidden(role) => format!("この操作には{}の権限が必要です。", role_ja(role)),
        WbError::NotFound(what) => format!("{}が見つかりません。", thing_ja(what)),
        WbError::Conflict(_) => {
            "他の操作と競合しました（すでに処理済みか、状態が変わっています）。ページを再読み込みしてください。"
                .into()
        }
        WbError::BadKey => "このサービスの ingest 権限を持つ API キーが必要です。".into(),
        WbError::Storage(_) => {
            "記録できませんでした（ストレージの障害）。時間をおいてやり直してください。".into()
        }
        WbError::Unavailable(_) => {
            "現在この操作は利用できません。時間をおいてやり直してください。".into()
        }
    }
}

fn role_ja(role: &str) -> &'static str {
    match role {
        "admin" => "管理者",
        "supervisor" => "スーパーバイザー",
        "enabled analyst" => "有効なアナリスト",
        _ => "アナリスト",
    }
}

fn thing_ja(what: &str) -> &'static str {
    match what {
        "case" => "ケース",
        "event in this case" => "このケースのイベント",
        "event of this service" => "このサービスのイベント",
        "analyst" => "アナリスト",
        "pack version" => "パックのバージョン",
        "hold in force" => "有効な保留",
        "passkey" => "パスキー",
        "passkey relying party (passkeys are off)" => "パスキーの設定（パスキーは無効です）",
        _ => "対象",
    }
}

/// The case page's note when the index no longer holds the account's
/// older events (evicted to bound memory; the log has them).
pub fn history_evicted(locale: Locale) -> &'static str {
    match locale {
        Locale::En => "Older history of this account was evicted from the case index to bound its memory; the log still holds every event (a restart rebuilds the index from it).",
        Locale::Ja => "この口座の古い履歴は、メモリを抑えるためケース索引から外されました。すべてのイベントはログに残っています（再起動すると索引はログから再構築されます）。",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant: every code has Japanese text, none repeats a
    /// value, and English stays the API's message.
    fn every_error() -> Vec<WbError> {
        vec![
            WbError::invalid("note", "secret-value-typed"),
            WbError::invalid("", "x"),
            WbError::SignInFailed,
            WbError::Throttled,
            WbError::NoSession,
            WbError::Csrf,
            WbError::Forbidden("supervisor"),
            WbError::NotFound("case"),
            WbError::Conflict("secret-value-typed".into()),
            WbError::BadKey,
            WbError::Storage("secret-value-typed".into()),
            WbError::Unavailable("the backtest"),
        ]
    }

    #[test]
    fn every_code_has_japanese_text_that_repeats_no_value() {
        let mut codes = std::collections::BTreeSet::new();
        for e in every_error() {
            codes.insert(e.code());
            let ja = message(Locale::Ja, &e);
            assert!(!ja.is_empty() && !ja.is_ascii(), "{}: {ja}", e.code());
            assert!(!ja.contains("secret-value-typed"), "{ja}");
            assert_eq!(message(Locale::En, &e), e.to_string());
        }
        assert_eq!(codes.len(), 11, "one of each code");
        assert!(message(Locale::Ja, &WbError::invalid("note", "x")).contains("note"));
        assert!(message(Locale::Ja, &WbError::Forbidden("admin")).contains("管理者"));
    }
}
