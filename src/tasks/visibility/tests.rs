//! The guard on where the tasks SQL filters by owner.
/// The tasks SQL (every feature folder's) names an owner column only to record the owner
/// of a row it inserts (`user_id.eq(owner)`); every filter goes through this module. Read:
/// every file under src/tasks but this module's own, the unit of work's (it hands the viewer's id to
/// the transaction) and test files.
#[test]
fn the_store_filters_by_owner_only_through_this_module() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/src/tasks");
    let skipped = ["visibility/mod.rs", "unit/mod.rs"];
    let mut dirs = vec![std::path::PathBuf::from(root)];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if skipped.contains(&rel.as_str()) || rel.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let compact: String = text.split_whitespace().collect();
            let named = compact.matches("user_id.eq(").count();
            let recorded = compact.matches("user_id.eq(owner)").count();
            assert_eq!(
                named,
                recorded,
                "{} filters by owner itself",
                path.display()
            );
            assert!(
                !compact.contains(".id())"),
                "{} reads a user id",
                path.display()
            );
            files += 1;
        }
    }
    assert!(files >= 20);
}
