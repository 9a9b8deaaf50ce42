//! The transaction of a logged money event, and of a request.

use sekimori_stepup::Transaction;

/// The transaction a logged money event asks for, as transaction signing
/// encodes it: (service, payer account, amount, currency, canonical payee).
/// Payees: `bank:<bank_code>-<branch>-<number>`, `crypto:<address>` (or
/// `crypto:<network>:<address>`), `account:<id>`, `atm:<id>` (or `atm`),
/// `merchant:<merchant>` for a purchase. Events without one: `None`.
pub fn event_transaction(event: &serde_json::Value) -> Option<(String, Transaction)> {
    let kind = event.get("type")?.as_str()?;
    let payee = match kind {
        "transfer" | "withdrawal" | "withdrawal.request" => {
            let d = event.get("destination")?;
            let s = |k: &str| d.get(k).and_then(|v| v.as_str());
            match s("kind")? {
                "bank" => format!("bank:{}-{}-{}", s("bank_code")?, s("branch")?, s("number")?),
                "crypto" => match s("network") {
                    Some(n) => format!("crypto:{n}:{}", s("address")?),
                    None => format!("crypto:{}", s("address")?),
                },
                "account" => format!("account:{}", s("account")?),
                "atm" => match s("atm_id") {
                    Some(a) => format!("atm:{a}"),
                    None => "atm".to_string(),
                },
                _ => return None,
            }
        }
        "purchase" => format!("merchant:{}", event.get("merchant")?.as_str()?),
        _ => return None,
    };
    let tx = Transaction {
        account: event.get("account")?.as_str()?.to_string(),
        amount_minor: event.get("amount_minor")?.as_i64()?,
        currency: event.get("currency")?.as_str()?.to_string(),
        payee,
    };
    Some((event.get("service")?.as_str()?.to_string(), tx))
}
/// The transaction a request names, with the account as payer.
pub fn transaction(account: &str, amount_minor: i64, currency: &str, payee: &str) -> Transaction {
    Transaction {
        account: account.to_string(),
        amount_minor,
        currency: currency.to_string(),
        payee: payee.to_string(),
    }
}
