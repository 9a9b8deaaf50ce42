//! The binary's embedded default pack is exactly `rules/default/`.

use sekimori_rules::embedded::{default_pack, DEFAULT_PACK_FILES};
use sekimori_rules::load_pack;
use std::path::Path;

#[test]
fn embedded_default_pack_equals_the_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    assert_eq!(
        default_pack().expect("embedded loads"),
        load_pack(&dir).expect("dir loads")
    );
    let mut on_disk = Vec::new();
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                on_disk.push(
                    path.strip_prefix(&dir)
                        .expect("prefix")
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    on_disk.sort();
    let mut embedded: Vec<String> = DEFAULT_PACK_FILES
        .iter()
        .map(|(p, _)| p.to_string())
        .collect();
    embedded.sort();
    assert_eq!(
        embedded, on_disk,
        "add new files of rules/default/ to DEFAULT_PACK_FILES"
    );
}
