//! The `cairn-provider-aws` plugin binary: serves [`cairn_provider_aws::AwsProvider`],
//! `s3://` state stores and `awskms://` data keys to the Cairn engine over the
//! plugin protocol.

fn main() -> std::process::ExitCode {
    let services = cairn_plugin::Services::default()
        .backends(cairn_provider_aws::S3Backends)
        .data_keys(cairn_provider_aws::KmsKeys::default());
    cairn_plugin::serve_main_with(cairn_provider_aws::AwsProvider::new(), services)
}
