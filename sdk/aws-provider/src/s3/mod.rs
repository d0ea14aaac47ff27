//! The `aws:s3:*` types' S3 calls. State stores in S3 live in `cairn-state-s3`.

pub(crate) mod bucket;
