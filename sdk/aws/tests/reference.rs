//! docs/reference/aws.md is generated from the schemas and must be current.
//! `cargo xtask docs` (or CAIRN_UPDATE_DOCS=1 on this test) rewrites it.

#[test]
fn the_reference_page_matches_the_schemas() {
    let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/reference/aws.md");
    if let Err(e) = cairn_core::schema::check_reference_page(&page, "aws", cairn_aws::SCHEMAS) {
        panic!("{e}");
    }
}
