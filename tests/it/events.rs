//! Every file in `events/` goes through the real handler and gets the status
//! that `events/README.md` documents for it ("as committed" column).

use crate::common::*;

fn documented() -> Vec<(String, u16)> {
    let readme =
        std::fs::read_to_string(format!("{}/events/README.md", env!("CARGO_MANIFEST_DIR")))
            .expect("events/README.md");
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | `file.json` | route | as committed | with a live token |
            let file = cells.get(1)?.strip_prefix('`')?.strip_suffix(".json`")?;
            let status = cells.get(3)?.parse().ok()?;
            Some((file.to_string(), status))
        })
        .collect()
}

#[tokio::test]
async fn every_event_file_is_documented_and_answers_as_documented() {
    let table = documented();
    let mut files: Vec<String> =
        std::fs::read_dir(format!("{}/events", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".json").map(str::to_string)
            })
            .collect();
    files.sort();
    let mut listed: Vec<String> = table.iter().map(|(f, _)| f.clone()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "events/README.md lists exactly the event files"
    );

    let env = TestEnv::new().await;
    for (file, status) in &table {
        let r = env.call(&event(file)).await;
        assert_eq!(r.status, *status, "{file}: {}", r.text());
        assert!(r.status < 500, "{file}");
    }
}
