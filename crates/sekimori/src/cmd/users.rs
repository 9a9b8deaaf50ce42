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
    /// List analysts (logins, roles; never a hash or a seed).
    List {
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Create { login, role, data } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow!("unknown role `{role}`: use analyst, supervisor or admin")
            })?;
            let dir = crate::data_dir(data);
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                bail!("no password on standard input: `echo \"$PASSWORD\" | sekimori users create ...`");
            }
            let analysts = Analysts::open(&dir).map_err(|e| anyhow!("{e}"))?;
            let now = sekimori_workbench::system_clock()();
            let (info, uri) = analysts
                .create(&login, role, password, "cli", now)
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
                    "{}\t{}\t{}\t{}",
                    a.login,
                    a.role.name(),
                    a.created_at,
                    a.created_by
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
