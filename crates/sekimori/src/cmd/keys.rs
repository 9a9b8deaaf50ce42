use anyhow::anyhow;
use sekimori_server::keys::{create_key_for, read_keys, revoke_key, Scope};
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
        /// Comma-separated services (tenants) the key speaks for: it may
        /// send their events and read their decisions and holds, nothing of
        /// any other service. Required unless the key is an operator's
        /// (`admin` scope) or `--all-services` is given.
        #[arg(long, conflicts_with = "all_services")]
        services: Option<String>,
        /// The key speaks for every service (a single-tenant deployment).
        #[arg(long)]
        all_services: bool,
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
        Command::Create {
            name,
            scopes,
            services,
            all_services,
            data,
        } => {
            let scopes = scopes
                .split(',')
                .map(|s| {
                    Scope::parse(s.trim()).ok_or_else(|| {
                        anyhow!(
                            "unknown scope `{s}`: use ingest, read, admin, approve, custody, stepup"
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let services: Option<Vec<String>> =
                services.map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
            if services.is_none() && !all_services && !scopes.contains(&Scope::Admin) {
                return Err(anyhow!(
                    "name the services this key speaks for with --services a,b (or --all-services for a single-tenant deployment)"
                ));
            }
            let (record, key) = create_key_for(&crate::data_dir(data), &name, scopes, services)?;
            let bound = record
                .speaks_for_services()
                .map_or("every service".to_string(), |s| s.join(", "));
            eprintln!(
                "created key {} ({}) with scopes {:?} for {bound}; it is shown once:",
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
                let services = match k.speaks_for_services() {
                    None => "*".to_string(),
                    Some(s) if s.is_empty() => {
                        "none (created before keys were bound: create it again with --services)"
                            .to_string()
                    }
                    Some(s) => s.join(","),
                };
                println!(
                    "{}  {:<20} {:?}  services {}  created {}  {}",
                    k.id, k.name, k.scopes, services, k.created_at, state
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
