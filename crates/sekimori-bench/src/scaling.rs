//! (being written)

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub source: crate::events::Source,
}

pub fn run(_a: Args) -> anyhow::Result<()> {
    anyhow::bail!("not built yet")
}
