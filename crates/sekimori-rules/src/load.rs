//! Loading a pack from a directory of YAML files (or one JSON/YAML file).
//!
//! Every `*.yaml`/`*.yml` file under the directory, in path order, is one part
//! of the pack; exactly one part holds `pack:` (name and version) and at most
//! one `settings:`; `features`, `lists`, `rules` and `tests` are concatenated.
//! A list's `file:` is read relative to the YAML file that names it and
//! inlined, so the loaded [`PackSource`] is self-contained. Any part may
//! declare `params` and `conditions` (each name once in the pack); at most
//! one holds `money`.
//! A bad param or money entry is reported with the file that declares it.

use crate::source::*;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Pack(String),
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Part {
    pack: Option<PackMeta>,
    settings: Option<SettingsSource>,
    money: Option<MoneySource>,
    #[serde(default)]
    params: BTreeMap<String, ParamSource>,
    #[serde(default)]
    conditions: BTreeMap<String, String>,
    #[serde(default)]
    features: Vec<FeatureSource>,
    #[serde(default)]
    lists: Vec<ListSource>,
    #[serde(default)]
    rules: Vec<RuleSource>,
    #[serde(default)]
    tests: Vec<TestSource>,
}

/// Loads a pack from a directory of YAML parts, or from a single file.
pub fn load_pack(path: &Path) -> Result<PackSource, LoadError> {
    let files = if path.is_dir() {
        yaml_files(path)?
    } else {
        vec![path.to_path_buf()]
    };
    let parts = files
        .iter()
        .map(|f| Ok((f.clone(), read_text(f)?)))
        .collect::<Result<Vec<_>, LoadError>>()?;
    assemble(parts, &read_text).map_err(|e| match e {
        LoadError::Pack(m) if m.is_empty() => LoadError::Pack(format!(
            "{}: no `pack:` header with name and version",
            path.display()
        )),
        other => other,
    })
}

/// Loads a pack from files held in memory (`(path, text)`, paths relative to
/// the pack root), as the binary embeds the default pack.
pub fn load_embedded(files: &[(&str, &str)]) -> Result<PackSource, LoadError> {
    let is_yaml = |p: &str| p.ends_with(".yaml") || p.ends_with(".yml");
    let parts = files
        .iter()
        .filter(|(p, _)| is_yaml(p))
        .map(|(p, t)| (PathBuf::from(p), t.to_string()))
        .collect();
    let read = |path: &Path| {
        let wanted = path.to_string_lossy().trim_start_matches("./").to_string();
        files
            .iter()
            .find(|(p, _)| *p == wanted)
            .map(|(_, t)| t.to_string())
            .ok_or_else(|| file_err(path, "not embedded"))
    };
    assemble(parts, &read)
}

fn assemble(
    parts: Vec<(PathBuf, String)>,
    read: &dyn Fn(&Path) -> Result<String, LoadError>,
) -> Result<PackSource, LoadError> {
    let (mut meta, mut settings, mut money) = (None, None, None);
    let mut src = Part::default();
    // Which file declared each param, and the money section.
    let mut origin: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (file, text) in &parts {
        let mut part = parse_part(file, text)?;
        let base = file.parent().unwrap_or(Path::new(""));
        for list in &mut part.lists {
            inline_list(list, base, read)?;
        }
        if let Some(m) = part.pack {
            if meta.replace(m).is_some() {
                return Err(LoadError::Pack(format!(
                    "{}: a second `pack:` header",
                    file.display()
                )));
            }
        }
        if let Some(s) = part.settings {
            if settings.replace(s).is_some() {
                return Err(LoadError::Pack(format!(
                    "{}: a second `settings:`",
                    file.display()
                )));
            }
        }
        if let Some(m) = part.money {
            if money.replace(m).is_some() {
                return Err(LoadError::Pack(format!(
                    "{}: a second `money:`",
                    file.display()
                )));
            }
            origin.insert("money".into(), file.clone());
        }
        for (name, param) in part.params {
            if let Some(first) = origin.get(&format!("param `{name}`")) {
                return Err(LoadError::Pack(format!(
                    "{}: param `{name}` is declared in {} already",
                    file.display(),
                    first.display()
                )));
            }
            origin.insert(format!("param `{name}`"), file.clone());
            src.params.insert(name, param);
        }
        for (name, condition) in part.conditions {
            if let Some(first) = origin.get(&format!("condition `{name}`")) {
                return Err(LoadError::Pack(format!(
                    "{}: condition `{name}` is declared in {} already",
                    file.display(),
                    first.display()
                )));
            }
            origin.insert(format!("condition `{name}`"), file.clone());
            src.conditions.insert(name, condition);
        }
        src.features.extend(part.features);
        src.lists.extend(part.lists);
        src.rules.extend(part.rules);
        src.tests.extend(part.tests);
    }
    let pack = meta.ok_or_else(|| LoadError::Pack(String::new()))?;
    let money = money.unwrap_or_default();
    check_params(&money, &src.params, &origin)?;
    Ok(PackSource {
        pack,
        settings: settings.unwrap_or_default(),
        money,
        params: src.params,
        conditions: src.conditions,
        features: src.features,
        lists: src.lists,
        rules: src.rules,
        tests: src.tests,
    })
}

/// Compiles the params as the pack's compile will, so that each problem
/// can name the file that declares the param (compiling a published JSON
/// pack reports the same problems without a file).
fn check_params(
    money: &MoneySource,
    params: &BTreeMap<String, ParamSource>,
    origin: &BTreeMap<String, PathBuf>,
) -> Result<(), LoadError> {
    let mut p = crate::compile::Problems::default();
    crate::params::compile(money, params, &mut p);
    let errors = p.into_errors();
    if errors.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = errors
        .iter()
        .map(|e| match origin.get(&e.location) {
            Some(file) => format!("{}: {e}", file.display()),
            None => e.to_string(),
        })
        .collect();
    Err(LoadError::Pack(lines.join("\n")))
}

/// The file each rule and feature of a pack directory is declared in
/// (`rule \`name\`` or `feature \`name\`` → path), for messages such as
/// the lint's. Files that do not parse are skipped: loading reports them.
pub fn rule_files(path: &Path) -> BTreeMap<String, PathBuf> {
    #[derive(Deserialize)]
    struct Named {
        name: String,
    }
    #[derive(Deserialize, Default)]
    struct Names {
        #[serde(default)]
        rules: Vec<Named>,
        #[serde(default)]
        features: Vec<Named>,
    }
    let files = if path.is_dir() {
        yaml_files(path).unwrap_or_default()
    } else {
        vec![path.to_path_buf()]
    };
    let mut out = BTreeMap::new();
    for file in files {
        let Ok(text) = read_text(&file) else { continue };
        let names: Names = serde_norway::from_str(&text).unwrap_or_default();
        for r in names.rules {
            out.entry(format!("rule `{}`", r.name))
                .or_insert(file.clone());
        }
        for f in names.features {
            out.entry(format!("feature `{}`", f.name))
                .or_insert(file.clone());
        }
    }
    out
}

fn file_err(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError::File {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn read_text(path: &Path) -> Result<String, LoadError> {
    let meta = std::fs::metadata(path).map_err(|e| file_err(path, e.to_string()))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(file_err(path, "larger than 64 MiB"));
    }
    std::fs::read_to_string(path).map_err(|e| file_err(path, e.to_string()))
}

fn parse_part(path: &Path, text: &str) -> Result<Part, LoadError> {
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        return serde_json::from_str(text).map_err(|e| file_err(path, e.to_string()));
    }
    serde_norway::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("line {} column {}: ", l.line(), l.column()))
            .unwrap_or_default();
        file_err(path, format!("{at}{e}"))
    })
}

fn inline_list(
    list: &mut ListSource,
    base: &Path,
    read: &dyn Fn(&Path) -> Result<String, LoadError>,
) -> Result<(), LoadError> {
    let Some(file) = list.file.take() else {
        return Ok(());
    };
    let text = read(&base.join(&file))?;
    let items = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string);
    list.items.extend(items);
    Ok(())
}

fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| file_err(&d, e.to_string()))?;
        for entry in entries {
            let path = entry.map_err(|e| file_err(&d, e.to_string()))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(file_err(dir, "no *.yaml files"));
    }
    Ok(out)
}
