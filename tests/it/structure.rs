//! The core's floors, checked from the source: records (`src/core/record/`)
//! import nothing of the crate outside their folder,
//! and the storage port imports records, never a flow, so no import runs
//! back up between them.

const RECORD_MAY_USE: &[&str] = &["super::"];

/// The crate paths a file imports (`use crate::…` and `use super::…`).
fn crate_imports(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("use "))
        .filter(|l| l.starts_with("crate::") || l.starts_with("super::"))
        .map(str::to_string)
        .collect()
}

#[test]
fn records_import_nothing_above_them() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core/record");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        files += 1;
        for import in crate_imports(&path) {
            assert!(
                RECORD_MAY_USE.iter().any(|p| import.starts_with(p))
                    && !import.starts_with("super::super"),
                "{}: `use {import}` reaches above the records",
                path.display()
            );
        }
    }
    assert!(files >= 5, "the records are where this test looks");
}

#[test]
fn the_storage_port_imports_records_not_flows() {
    let port = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core/store.rs");
    for import in crate_imports(&port) {
        for flow in [
            "authcode", "family", "session", "login", "oauth", "device", "warm",
        ] {
            assert!(
                !import.starts_with(&format!("super::{flow}")),
                "store.rs: `use {import}` imports a flow"
            );
        }
    }
}

/// The core takes its adapters through its ports (storage, signing) and
/// imports none of them: no `crate::keys`, `crate::store`, `crate::http`.
#[test]
fn the_core_imports_no_adapter_and_no_edge() {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core"),
        &mut files,
    );
    assert!(files.len() > 20, "the core is where this test looks");
    for path in files {
        for import in crate_imports(&path) {
            assert!(
                !import.starts_with("crate::") || import.starts_with("crate::core"),
                "{}: `use {import}` reaches out of the core",
                path.display()
            );
        }
    }
}
