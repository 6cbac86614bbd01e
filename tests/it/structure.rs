//! The rooms' floors, checked from the source, so no import runs back up:
//! records (`src/core/record/`) import only each other, the storage port
//! imports records and never a flow, the core nothing outside itself, the
//! adapters (`src/store/`, `src/keys/`) only the core, and the edge
//! (`src/http/`) no adapter.

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

/// Every `.rs` file under `src/<dir>`.
fn files_under(dir: &str) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, files: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(dir),
        &mut files,
    );
    files
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
            "authorize",
            "family",
            "session",
            "login",
            "oauth",
            "device",
            "warm",
        ] {
            assert!(
                !import.starts_with(&format!("super::{flow}"))
                    && !import.starts_with(&format!("crate::core::{flow}")),
                "store.rs: `use {import}` imports a flow"
            );
        }
    }
}

/// The core takes its adapters through its ports (storage, signing) and
/// imports none of them: no `crate::keys`, `crate::store`, `crate::http`.
#[test]
fn the_core_imports_no_adapter_and_no_edge() {
    let files = files_under("core");
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

/// The DynamoDB adapter and the key ring implement the core's ports and
/// depend on the core alone: not on the edge, the configuration or each
/// other.
#[test]
fn the_adapters_import_only_the_core() {
    for dir in ["store", "keys"] {
        let files = files_under(dir);
        assert!(files.len() >= 4, "src/{dir} is where this test looks");
        for path in files {
            for import in crate_imports(&path) {
                assert!(
                    !import.starts_with("crate::") || import.starts_with("crate::core"),
                    "{}: `use {import}` reaches past the core",
                    path.display()
                );
            }
        }
    }
}

/// The edge reaches storage and keys through the core's ports only: it
/// never names an adapter, the configuration or the composition root.
#[test]
fn the_edge_imports_no_adapter() {
    let files = files_under("http");
    assert!(files.len() > 10, "the edge is where this test looks");
    for path in files {
        for import in crate_imports(&path) {
            for adapter in [
                "crate::store",
                "crate::keys",
                "crate::config",
                "crate::compose",
                "crate::admin",
            ] {
                assert!(
                    !import.starts_with(adapter),
                    "{}: `use {import}` names an adapter",
                    path.display()
                );
            }
        }
    }
}
