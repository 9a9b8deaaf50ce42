use anyhow::anyhow;
use sekimori_server::keys::{create_key, read_keys, revoke_key, Scope};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create a key; prints it once (only its hash is kept).
    Create {
        #[arg(long)]
        name: String,
        /// Comma-separated: ingest, read, admin, approve. An `approve` key
        /// posts `withdrawal.approval` events in its own name (`--name` is
        /// the approver); alone, it may post nothing else.
        #[arg(long, default_value = "ingest,read")]
        scopes: String,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// List keys (ids, names, scopes; never secrets).
    List {
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Revoke a key by id.
    Revoke {
        id: String,
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Create { name, scopes, data } => {
            let scopes = scopes
                .split(',')
                .map(|s| {
                    Scope::parse(s.trim()).ok_or_else(|| {
                        anyhow!("unknown scope `{s}`: use ingest, read, admin, approve")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (record, key) = create_key(&crate::data_dir(data), &name, scopes)?;
            eprintln!(
                "created key {} ({}) with scopes {:?}; it is shown once:",
                record.id, record.name, record.scopes
            );
            println!("{key}");
        }
        Command::List { data } => {
            for k in read_keys(&crate::data_dir(data))? {
                let state = k
                    .revoked_at
                    .as_deref()
                    .map_or("active".to_string(), |t| format!("revoked {t}"));
                println!(
                    "{}  {:<20} {:?}  created {}  {}",
                    k.id, k.name, k.scopes, k.created_at, state
                );
            }
        }
        Command::Revoke { id, data } => {
            let k = revoke_key(&crate::data_dir(data), &id)?;
            println!("revoked {} ({})", k.id, k.name);
        }
    }
    Ok(ExitCode::SUCCESS)
}
