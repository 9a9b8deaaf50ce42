//! `sekimori users`: the workbench's analysts (apart from API keys). Works
//! while the server runs, as `keys` does: analysts live in
//! `<data>/analysts.json`, which the server reads at each sign-in.

use anyhow::{anyhow, bail, Context};
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

fn set_disabled(login: &str, data: Option<PathBuf>, disable: bool) -> anyhow::Result<ExitCode> {
    let analysts = Analysts::open(&crate::data_dir(data)).map_err(|e| anyhow!("{e}"))?;
    analysts
        .set_disabled(login, disable)
        .map_err(|e| anyhow!("{e}"))?;
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
            eprintln!(
                "analyst {} ({}) created; add this to their authenticator app now, it is not shown again:",
                info.login,
                info.role.name()
            );
            println!("{}", uri.expose());
            Ok(ExitCode::SUCCESS)
        }
        Command::List { data } => {
            let analysts = Analysts::open(&crate::data_dir(data)).map_err(|e| anyhow!("{e}"))?;
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
            let password = read_password()?;
            let analysts = Analysts::open(&crate::data_dir(data)).map_err(|e| anyhow!("{e}"))?;
            let now = sekimori_workbench::system_clock()();
            let (_, uri) = analysts
                .reset(&login, &password, "cli", now)
                .map_err(|e| anyhow!("{e}"))?;
            eprintln!(
                "analyst {login} reset; add this to their authenticator app now, it is not shown again:"
            );
            println!("{}", uri.expose());
            Ok(ExitCode::SUCCESS)
        }
    }
}
