//! `sekimori users`: the workbench's analysts (apart from API keys). Works
//! while the server runs, as `keys` does: analysts live in
//! `<data>/analysts.json`, which the server reads at each sign-in. Every
//! change queues its audit act, which the server logs (by `cli`).
//!
//! On a node of a replicated shard analysts live in the shard's log: only
//! `create` works there, leaving the analyst pending until the node leads
//! and adopts it (how a shard's first admin is made); the other changes
//! are refused (the leader's workbench or `/v1/analysts` make them).

use anyhow::{anyhow, bail, Context};
use sekimori_workbench::acts::Act;
use sekimori_workbench::analyst_cli::is_replicated_dir;
use sekimori_workbench::analysts::{Analysts, Role};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Create an analyst. The password is read from standard input (one
    /// line; never a flag, which would land in the shell's history); the
    /// TOTP provisioning URI is printed once, for the analyst's
    /// authenticator app (only a sealed copy of the seed is kept).
    Create {
        #[arg(long)]
        login: String,
        /// analyst, supervisor or admin.
        #[arg(long, default_value = "analyst")]
        role: String,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// List analysts (logins, roles, whether disabled; never a hash or a seed).
    List {
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Disable an analyst: they cannot sign in, and a running server ends
    /// their sessions within a second (it watches analysts.json).
    Disable {
        #[arg(long)]
        login: String,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Enable a disabled analyst again.
    Enable {
        #[arg(long)]
        login: String,
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Reset an analyst's password (read from standard input, one line) and
    /// TOTP: the new provisioning URI is printed once. Recorded as enrolled
    /// by `cli`.
    Reset {
        #[arg(long)]
        login: String,
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on standard input: `echo \"$PASSWORD\" | sekimori users ...`");
    }
    Ok(password)
}

/// Refuses a change of analysts on a replicated shard's node.
fn refuse_replicated(dir: &std::path::Path, what: &str) -> anyhow::Result<()> {
    if is_replicated_dir(dir) {
        bail!(
            "{}: this node's analysts live in its shard's log, not in analysts.json; \
             {what} them through the leader's workbench (/ui/analysts) or its API \
             (/v1/analysts) as an admin",
            dir.display()
        );
    }
    Ok(())
}

/// Queues the audit act of a change made (the server logs it by `cli`).
fn queue(analysts: &Analysts, act: Act, now: i64) {
    if let Err(e) = analysts.queue_cli_act(&act, now) {
        eprintln!("warning: the change is made but its audit act was not queued: {e}");
    }
}

fn set_disabled(login: &str, data: Option<PathBuf>, disable: bool) -> anyhow::Result<ExitCode> {
    let dir = crate::data_dir(data);
    refuse_replicated(&dir, if disable { "disable" } else { "enable" })?;
    let analysts = Analysts::open(&dir).map_err(|e| anyhow!("{e}"))?;
    analysts
        .set_disabled(login, disable)
        .map_err(|e| anyhow!("{e}"))?;
    let act = if disable {
        Act::DisableAnalyst {
            login: login.into(),
        }
    } else {
        Act::EnableAnalyst {
            login: login.into(),
        }
    };
    queue(&analysts, act, sekimori_workbench::system_clock()());
    eprintln!(
        "analyst {login} {}",
        if disable { "disabled" } else { "enabled" }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Create { login, role, data } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow!("unknown role `{role}`: use analyst, supervisor or admin")
            })?;
            let dir = crate::data_dir(data);
            let password = read_password()?;
            let analysts = Analysts::open(&dir).map_err(|e| anyhow!("{e}"))?;
            let now = sekimori_workbench::system_clock()();
            let (info, uri) = analysts
                .create(&login, role, &password, "cli", now)
                .map_err(|e| anyhow!("{e}"))?;
            if is_replicated_dir(&dir) {
                // Adopted into the shard's log by this node when it leads
                // (its workbench logs the act then).
                eprintln!(
                    "analyst {} ({}) is pending: {} is a node of a replicated shard, which adopts it into the shard's log when this node leads (within a second if it leads now); add this to their authenticator app now, it is not shown again:",
                    info.login,
                    info.role.name(),
                    dir.display()
                );
            } else {
                queue(
                    &analysts,
                    Act::CreateAnalyst {
                        login: info.login.clone(),
                        role: info.role,
                    },
                    now,
                );
                eprintln!(
                    "analyst {} ({}) created; add this to their authenticator app now, it is not shown again:",
                    info.login,
                    info.role.name()
                );
            }
            println!("{}", uri.expose());
            Ok(ExitCode::SUCCESS)
        }
        Command::List { data } => {
            let dir = crate::data_dir(data);
            if is_replicated_dir(&dir) {
                eprintln!(
                    "{}: a node of a replicated shard: its analysts live in the shard's log (GET /v1/analysts on the leader); listed here are only those pending adoption",
                    dir.display()
                );
            }
            let analysts = Analysts::open(&dir).map_err(|e| anyhow!("{e}"))?;
            for a in analysts.list().map_err(|e| anyhow!("{e}"))? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    a.login,
                    a.role.name(),
                    a.created_at,
                    a.created_by,
                    if a.disabled { "disabled" } else { "active" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Disable { login, data } => set_disabled(&login, data, true),
        Command::Enable { login, data } => set_disabled(&login, data, false),
        Command::Reset { login, data } => {
            let dir = crate::data_dir(data);
            refuse_replicated(&dir, "reset")?;
            let password = read_password()?;
            let analysts = Analysts::open(&dir).map_err(|e| anyhow!("{e}"))?;
            let now = sekimori_workbench::system_clock()();
            let passkeys: Vec<String> = analysts
                .passkeys(&login)
                .map_err(|e| anyhow!("{e}"))?
                .unwrap_or_default()
                .into_iter()
                .map(|p| p.id)
                .collect();
            let (_, uri) = analysts
                .reset(&login, &password, "cli", now)
                .map_err(|e| anyhow!("{e}"))?;
            queue(
                &analysts,
                Act::ResetAnalyst {
                    login: login.clone(),
                },
                now,
            );
            if !passkeys.is_empty() {
                queue(
                    &analysts,
                    Act::PasskeysRemoved {
                        login: login.clone(),
                        ids: passkeys,
                        all: true,
                        reason: sekimori_workbench::acts::PasskeyRemoval::Reset,
                    },
                    now,
                );
            }
            eprintln!(
                "analyst {login} reset; add this to their authenticator app now, it is not shown again:"
            );
            println!("{}", uri.expose());
            Ok(ExitCode::SUCCESS)
        }
    }
}
