//! Operating a live server: SIGHUP reload, `rules publish`, key revocation.

mod common;

use common::{agent, create_key, get, run, Server};
use std::path::Path;
use std::time::{Duration, Instant};

const DEFAULT_PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/default");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let dest = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).expect("copy");
        }
    }
}

fn set_version(pack: &Path, version: &str) {
    let file = pack.join("pack.yaml");
    let text = std::fs::read_to_string(&file).expect("read");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("version:"))
        .expect("version line")
        .to_string();
    std::fs::write(&file, text.replace(&line, &format!("  version: {version}"))).expect("write");
}

fn current_version(url: &str, key: &str) -> String {
    let (status, body) = get(&agent(), &format!("{url}/v1/packs/current"), key);
    assert_eq!(status, 200, "{body}");
    body["version"].as_str().expect("version").to_string()
}

#[test]
fn reload_on_sighup_publish_from_the_cli_and_revoke_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, log, pack) = (
        dir.path().join("data"),
        dir.path().join("server.log"),
        dir.path().join("pack"),
    );
    copy_dir(Path::new(DEFAULT_PACK), &pack);
    let key = create_key(&data, "read,admin");
    set_version(&pack, "hup-1");
    let server = Server::start(&data, &log, &["--rules", pack.to_str().expect("utf8")]);
    assert_eq!(current_version(&server.url, &key), "hup-1");

    set_version(&pack, "hup-2");
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while current_version(&server.url, &key) != "hup-2" {
        assert!(Instant::now() < deadline, "SIGHUP did not reload the pack");
        std::thread::sleep(Duration::from_millis(50));
    }

    set_version(&pack, "cli-3");
    let p = pack.to_str().expect("utf8");
    let o = run(&["rules", "publish", p, "--url", &server.url, "--key", &key]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(current_version(&server.url, &key), "cli-3");

    std::fs::write(pack.join("broken.yaml"), "rules:\n  - {name: b, on: [transfer], when: 'features.ghost > 0', action: deny, reason: r}\n").expect("write");
    set_version(&pack, "cli-4");
    let o = run(&["rules", "publish", p, "--url", &server.url, "--key", &key]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stdout).contains("invalid_pack"));
    assert_eq!(
        current_version(&server.url, &key),
        "cli-3",
        "the old pack keeps serving"
    );

    let listed =
        String::from_utf8(run(&["keys", "list", "--data", data.to_str().expect("utf8")]).stdout)
            .expect("utf8");
    let id = listed
        .split_whitespace()
        .next()
        .expect("key id")
        .to_string();
    assert!(run(&[
        "keys",
        "revoke",
        &id,
        "--data",
        data.to_str().expect("utf8")
    ])
    .status
    .success());
    let (status, body) = get(&agent(), &format!("{}/v1/packs/current", server.url), &key);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_api_key"))
    );
    server.kill();
}
