//! `aws:sqs:Queue`: the SQS calls. The provider ID is the queue URL.
//!
//! A FIFO queue's name gets `.fifo` appended when the declared (or
//! generated) name lacks it; Read reports the name in the declared form.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sqs::types::QueueAttributeName;
use cairn_aws::sqs::{QueueArgs, QueueOutputs, RedrivePolicy, queue_name};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};
use serde_json::{Value as Json, json};

use crate::Clients;
use crate::changes::retag;
use crate::sdk::AwsResultExt;
use cairn_provider_sdk::known;

/// The codes SQS answers with for a queue that does not exist (the legacy
/// query code, which SQS's JSON protocol still reports, and the JSON one).
const QUEUE_NOT_FOUND: &[&str] = &["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];

/// The attributes Cairn manages and SQS can change, as SQS spells them.
/// An empty value clears the attribute (no dead-letter queue, no KMS key).
fn managed_attributes(args: &QueueArgs) -> Result<BTreeMap<&'static str, String>, ProviderError> {
    let redrive = match &args.redrive_policy {
        None => String::new(),
        Some(r) => json!({
            "deadLetterTargetArn": known(&r.dead_letter_target_arn, "redrive_policy.dead_letter_target_arn")?,
            "maxReceiveCount": r.max_receive_count,
        })
        .to_string(),
    };
    let kms = match &args.kms_master_key_id {
        None => String::new(),
        Some(k) => known(k, "kms_master_key_id")?.clone(),
    };
    Ok(BTreeMap::from([
        ("VisibilityTimeout", args.visibility_timeout_seconds.to_string()),
        ("MessageRetentionPeriod", args.message_retention_seconds.to_string()),
        ("DelaySeconds", args.delay_seconds.to_string()),
        ("ReceiveMessageWaitTimeSeconds", args.receive_wait_time_seconds.to_string()),
        ("RedrivePolicy", redrive),
        ("KmsMasterKeyId", kms),
    ]))
}

fn sqs_attributes<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> HashMap<QueueAttributeName, String> {
    pairs.into_iter().map(|(k, v)| (QueueAttributeName::from(k), v)).collect()
}

fn outputs(url: &str, arn: &str) -> Result<Value, ProviderError> {
    let name = url.rsplit('/').next().unwrap_or_default();
    cairn_provider_sdk::to_value(&QueueOutputs { url: url.to_owned(), arn: arn.to_owned(), name: name.to_owned() })
}

/// Every attribute of the queue at `url`; `None` if it does not exist.
async fn attributes(c: &Clients, url: &str) -> Result<Option<HashMap<QueueAttributeName, String>>, ProviderError> {
    let got =
        c.sqs.get_queue_attributes().queue_url(url).attribute_names(QueueAttributeName::All).send().await.aws_unless(
            QUEUE_NOT_FOUND,
            "GetQueueAttributes",
            url,
        )?;
    Ok(got.map(|g| g.attributes().cloned().unwrap_or_default()))
}

fn attribute<'a>(attrs: &'a HashMap<QueueAttributeName, String>, name: &str) -> Option<&'a str> {
    attrs.get(&QueueAttributeName::from(name)).map(String::as_str).filter(|v| !v.is_empty())
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: QueueArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = queue_name(&cairn_provider_sdk::physical_name(&args.name, "name")?, args.fifo);
    let mut attrs: Vec<(&str, String)> =
        managed_attributes(&args)?.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    if args.fifo {
        // FifoQueue can only be given at creation (and only as true).
        attrs.push(("FifoQueue", "true".to_owned()));
    }
    let tags: HashMap<String, String> = args.tags.clone().into_iter().collect();
    let created = c
        .sqs
        .create_queue()
        .queue_name(&name)
        .set_attributes(Some(sqs_attributes(attrs)))
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .aws("CreateQueue", &name)?;
    let url = created
        .queue_url()
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::internal(format!("CreateQueue `{name}` returned no URL")))?;
    let attrs = attributes(c, &url).await?.unwrap_or_default();
    let arn = attribute(&attrs, "QueueArn").unwrap_or_default().to_owned();
    Ok(CreateResponse { outputs: outputs(&url, &arn)?, id: url })
}

/// The queue URL to read: the recorded ID, or (after a create interrupted
/// before its ID was recorded) the URL of the queue named in the inputs.
async fn url_of(c: &Clients, req: &ReadRequest) -> Result<Option<String>, ProviderError> {
    if let Some(id) = &req.id {
        return Ok(Some(id.clone()));
    }
    let fifo = matches!(req.inputs.get("fifo"), Some(Value::Bool(true)));
    let name = queue_name(&cairn_provider_sdk::input_str(&req.inputs, "name")?, fifo);
    let got = c.sqs.get_queue_url().queue_name(&name).send().await.aws_unless(QUEUE_NOT_FOUND, "GetQueueUrl", &name)?;
    Ok(got.and_then(|g| g.queue_url().map(str::to_owned)))
}

/// The redrive policy as SQS reports it: `maxReceiveCount` may be a number or a string.
fn parse_redrive(text: &str) -> Result<RedrivePolicy, String> {
    let j: Json = serde_json::from_str(text).map_err(|e| format!("the redrive policy is not JSON: {e}"))?;
    let arn =
        j.get("deadLetterTargetArn").and_then(Json::as_str).ok_or("the redrive policy has no deadLetterTargetArn")?;
    let count = match j.get("maxReceiveCount") {
        Some(Json::Number(n)) => n.as_i64(),
        Some(Json::String(s)) => s.parse().ok(),
        _ => None,
    }
    .and_then(|n| i32::try_from(n).ok())
    .ok_or("the redrive policy has no valid maxReceiveCount")?;
    Ok(RedrivePolicy { dead_letter_target_arn: Input::Value(arn.to_owned()), max_receive_count: count })
}

fn int_attribute(attrs: &HashMap<QueueAttributeName, String>, name: &str, url: &str) -> Result<i32, ProviderError> {
    let raw = attribute(attrs, name).unwrap_or("0");
    raw.parse()
        .map_err(|e| ProviderError::internal(format!("queue `{url}` reports {name} = `{raw}`, not a number: {e}")))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let Some(url) = url_of(c, &req).await? else { return Ok(None) };
    let Some(attrs) = attributes(c, &url).await? else { return Ok(None) };
    let tags = c.sqs.list_queue_tags().queue_url(&url).send().await.aws("ListQueueTags", &url)?;

    let live_name = url.rsplit('/').next().unwrap_or_default().to_owned();
    let fifo = attribute(&attrs, "FifoQueue") == Some("true");
    // A FIFO queue declared without its suffix is reported as declared.
    let declared = req.inputs.get("name").and_then(Value::as_str).filter(|d| queue_name(d, fifo) == live_name);
    let name = declared.map_or(live_name.clone(), str::to_owned);
    let redrive_policy = match attribute(&attrs, "RedrivePolicy") {
        None => None,
        Some(text) => Some(parse_redrive(text).map_err(|e| {
            ProviderError::internal(format!("the redrive policy of queue `{url}` could not be read: {e}"))
        })?),
    };
    let live = QueueArgs {
        name: Some(Input::Value(name)),
        fifo,
        visibility_timeout_seconds: int_attribute(&attrs, "VisibilityTimeout", &url)?,
        message_retention_seconds: int_attribute(&attrs, "MessageRetentionPeriod", &url)?,
        delay_seconds: int_attribute(&attrs, "DelaySeconds", &url)?,
        receive_wait_time_seconds: int_attribute(&attrs, "ReceiveMessageWaitTimeSeconds", &url)?,
        redrive_policy,
        kms_master_key_id: attribute(&attrs, "KmsMasterKeyId").map(|k| Input::Value(k.to_owned())),
        tags: tags.tags().map(|t| t.clone().into_iter().collect()).unwrap_or_default(),
    };
    let arn = attribute(&attrs, "QueueArn").unwrap_or_default().to_owned();
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&url, &arn)?,
        id: url,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: QueueArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: QueueArgs = cairn_provider_sdk::args(&req.news)?;
    let url = req.id.as_str();

    let (before, after) = (managed_attributes(&old)?, managed_attributes(&new)?);
    let changed: Vec<(&str, String)> = after.into_iter().filter(|(k, v)| before.get(k) != Some(v)).collect();
    if !changed.is_empty() {
        c.sqs
            .set_queue_attributes()
            .queue_url(url)
            .set_attributes(Some(sqs_attributes(changed)))
            .send()
            .await
            .aws("SetQueueAttributes", url)?;
    }
    retag(
        &old.tags,
        &new.tags,
        |set| async move {
            c.sqs
                .tag_queue()
                .queue_url(url)
                .set_tags(Some(set.into_iter().collect()))
                .send()
                .await
                .aws("TagQueue", url)
                .map(drop)
        },
        |remove| async move {
            c.sqs.untag_queue().queue_url(url).set_tag_keys(Some(remove)).send().await.aws("UntagQueue", url).map(drop)
        },
    )
    .await?;
    let arn = match attributes(c, url).await? {
        Some(attrs) => attribute(&attrs, "QueueArn").unwrap_or_default().to_owned(),
        None => String::new(),
    };
    Ok(UpdateResponse { outputs: outputs(url, &arn)? })
}

/// Deletes the queue and its messages. A queue already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let url = req.id.as_str();
    c.sqs.delete_queue().queue_url(url).send().await.aws_unless(QUEUE_NOT_FOUND, "DeleteQueue", url)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redrive_policies_read_numbers_and_strings() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:dlq";
        for text in [
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":5}}"#),
            format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"5"}}"#),
        ] {
            let p = parse_redrive(&text).unwrap();
            assert_eq!((p.dead_letter_target_arn.value().map(String::as_str), p.max_receive_count), (Some(arn), 5));
        }
        assert!(parse_redrive(r#"{"maxReceiveCount":5}"#).unwrap_err().contains("deadLetterTargetArn"));
    }

    #[test]
    fn clearing_the_dead_letter_queue_and_key_sends_empty_values() {
        let with = QueueArgs::builder()
            .kms_master_key_id("alias/q")
            .redrive_policy(
                RedrivePolicy::builder().dead_letter_target_arn("arn:aws:sqs:r:1:dlq").max_receive_count(3).build(),
            )
            .build();
        let a = managed_attributes(&with).unwrap();
        assert_eq!(a["KmsMasterKeyId"], "alias/q");
        let j: Json = serde_json::from_str(&a["RedrivePolicy"]).unwrap();
        assert_eq!(j, json!({"deadLetterTargetArn": "arn:aws:sqs:r:1:dlq", "maxReceiveCount": 3}));
        let without = managed_attributes(&QueueArgs::builder().build()).unwrap();
        assert_eq!((without["KmsMasterKeyId"].as_str(), without["RedrivePolicy"].as_str()), ("", ""));
        assert_eq!(without["VisibilityTimeout"], "30");
    }
}
