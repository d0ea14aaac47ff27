//! docs/reference/gitops.md is generated from the schemas and must be current.
//! `cargo xtask docs` (or CAIRN_UPDATE_DOCS=1 on this test) rewrites it.

#[test]
fn the_reference_page_matches_the_schemas() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/gitops.md");
    let generated = cairn_core::schema::reference_markdown("gitops", cairn_gitops::SCHEMAS);
    if std::env::var_os("CAIRN_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/reference/gitops.md");
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "docs/reference/gitops.md is not what the schemas say: run `cargo xtask docs` and commit the result"
    );
    for schema in cairn_gitops::SCHEMAS {
        assert!(current.contains(&format!("## {}", schema.token)), "{} is documented", schema.token);
        for p in schema.properties {
            assert!(!p.doc.is_empty(), "{}.{} has a description", schema.token, p.name);
        }
    }
}
