//! docs/reference/gitops.md is generated from the schemas and must be current.
//! `cargo xtask docs` (or CAIRN_UPDATE_DOCS=1 on this test) rewrites it.

#[test]
fn the_reference_page_matches_the_schemas() {
    let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/gitops.md");
    if let Err(e) = cairn_core::schema::check_reference_page(&page, "gitops", cairn_gitops::SCHEMAS) {
        panic!("{e}");
    }
}
