//! The AWS provider as a separate process over gRPC: handshake, configure,
//! check, create, read, diff, delete.

use cairn_core::{CheckRequest, CreateRequest, DeleteRequest, DiffRequest, Provider, ReadRequest, Urn, Value};
use cairn_tests::{bin, unique};

#[tokio::test(flavor = "multi_thread")]
async fn the_plugin_serves_the_protocol_over_grpc() {
    let endpoint = cairn_tests::aws_endpoint();
    // SAFETY of the env: the plugin inherits it; this test owns its process.
    let provider = cairn_plugin::launch(&bin("cairn-provider-aws")).await.expect("plugin starts and shakes hands");
    let config: Value =
        [("region", Value::from("us-east-1")), ("endpoint", Value::from(endpoint))].into_iter().collect();
    provider.configure(config).await.unwrap();

    let urn = Urn::parse("urn:cairn:dev::plugin-test::aws:s3:Bucket::scratch").unwrap();
    let name = unique("plugin");
    let news = Value::from_json(&serde_json::json!({"bucket": name, "versioning": true, "force_destroy": true}));
    let checked = provider.check(CheckRequest { urn: urn.clone(), olds: None, news }).await.unwrap();
    assert!(checked.failures.is_empty(), "{:?}", checked.failures);

    let created = provider.create(CreateRequest { urn: urn.clone(), inputs: checked.inputs.clone() }).await.unwrap();
    assert_eq!(created.id, name);
    assert_eq!(created.outputs.get("arn").and_then(Value::as_str), Some(format!("arn:aws:s3:::{name}").as_str()));

    let read = provider
        .read(ReadRequest { urn: urn.clone(), id: None, inputs: checked.inputs.clone(), outputs: None })
        .await
        .unwrap()
        .expect("found again from its inputs alone");
    assert_eq!(read.id, name);
    let diff = provider
        .diff(DiffRequest {
            urn: urn.clone(),
            id: name.clone(),
            olds: checked.inputs.clone(),
            old_outputs: created.outputs.clone(),
            news: read.inputs.clone(),
        })
        .await
        .unwrap();
    assert!(diff.changes.is_empty(), "read returns inputs in the shape of the declared ones: {diff:?}");

    let bad = Value::from_json(&serde_json::json!({"bucket": name, "colour": "red"}));
    let refused = provider.check(CheckRequest { urn: urn.clone(), olds: None, news: bad }).await.unwrap();
    assert!(refused.failures.iter().any(|f| f.property.to_string() == "colour"), "{:?}", refused.failures);

    let del =
        DeleteRequest { urn: urn.clone(), id: name.clone(), inputs: checked.inputs.clone(), outputs: created.outputs };
    provider.delete(del.clone()).await.unwrap();
    provider.delete(del).await.expect("deleting what is gone succeeds");
    let gone = provider.read(ReadRequest { urn, id: Some(name), inputs: checked.inputs, outputs: None }).await.unwrap();
    assert!(gone.is_none());
}
