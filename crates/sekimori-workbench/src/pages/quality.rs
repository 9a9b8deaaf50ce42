//! The rule-quality and backtest page: the workbench's layout around
//! `sekimori_backtest::html` (which renders the form and the report).

use crate::i18n::Locale;
use crate::sessions::Session;
use maud::Markup;

/// The page's words in the analyst's language.
pub fn words(locale: Locale) -> &'static sekimori_backtest::html::Words {
    match locale {
        Locale::Ja => &sekimori_backtest::html::JA,
        Locale::En => &sekimori_backtest::html::EN,
    }
}

pub fn page(s: &Session, body: Markup) -> Markup {
    super::layout(s.locale, Some(s), words(s.locale).title, body)
}
