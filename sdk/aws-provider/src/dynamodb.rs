//! `aws:dynamodb:Table`: the DynamoDB calls. The provider ID is the table name.
//!
//! Create waits until the table is ACTIVE before turning on point-in-time
//! recovery and TTL; each UpdateTable changes one concern and waits for
//! ACTIVE again (DynamoDB refuses a second change while one is under way).

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode as AwsBillingMode, KeySchemaElement, KeyType, PointInTimeRecoverySpecification,
    PointInTimeRecoveryStatus, ProvisionedThroughput, ScalarAttributeType, SseSpecification, SseStatus, SseType,
    TableDescription, TableStatus, Tag, TimeToLiveSpecification, TimeToLiveStatus,
};
use cairn_aws::dynamodb::{AttributeType, BillingMode, KeyAttribute, TableArgs, TableOutputs, TableSse};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::retag_by_arn;
use crate::sdk::{AwsResultExt, LastStatus, build_error, optional, wait_until};
use cairn_provider_sdk::known;

/// The code DynamoDB answers with for a table that does not exist.
const TABLE_NOT_FOUND: &str = "ResourceNotFoundException";

fn outputs(table: &TableDescription) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&TableOutputs {
        arn: table.table_arn().unwrap_or_default().to_owned(),
        name: table.table_name().unwrap_or_default().to_owned(),
        stream_arn: table.latest_stream_arn().map(str::to_owned),
    })
}

fn dynamo_tags(tags: &BTreeMap<String, String>) -> Result<Option<Vec<Tag>>, ProviderError> {
    crate::sdk::tag_list(tags, |k, v| Tag::builder().key(k).value(v).build())
}

fn throughput(args: &TableArgs) -> Result<Option<ProvisionedThroughput>, ProviderError> {
    if args.billing_mode != BillingMode::Provisioned {
        return Ok(None);
    }
    ProvisionedThroughput::builder()
        .read_capacity_units(args.read_capacity.unwrap_or(1))
        .write_capacity_units(args.write_capacity.unwrap_or(1))
        .build()
        .map(Some)
        .map_err(build_error)
}

/// The SSE specification for `sse` (absent: the key DynamoDB owns).
fn sse_spec(sse: Option<&TableSse>) -> Result<SseSpecification, ProviderError> {
    Ok(match sse {
        None => SseSpecification::builder().enabled(false).build(),
        Some(s) => {
            let key = s.kms_key_arn.as_ref().map(|k| known(k, "sse.kms_key_arn").cloned()).transpose()?;
            SseSpecification::builder().enabled(true).sse_type(SseType::Kms).set_kms_master_key_id(key).build()
        }
    })
}

/// The table called `name`, or `None`.
async fn describe(c: &Clients, name: &str) -> Result<Option<TableDescription>, ProviderError> {
    let out = c.dynamodb.describe_table().table_name(name).send().await.aws_unless(
        &[TABLE_NOT_FOUND],
        "DescribeTable",
        name,
    )?;
    Ok(out.and_then(|o| o.table().cloned()))
}

/// Waits until the table is ACTIVE (or gone, when `gone` is set) and returns what was last seen.
async fn wait_for(c: &Clients, name: &str, gone: bool) -> Result<Option<TableDescription>, ProviderError> {
    let last = LastStatus::default();
    let seen = std::sync::Mutex::new(None);
    let what = if gone { format!("table `{name}` to be deleted") } else { format!("table `{name}` to be ACTIVE") };
    wait_until(&what, &c.waits, || async {
        let Some(table) = describe(c, name).await? else {
            return if gone {
                Ok(true)
            } else {
                Err(ProviderError::new(ErrorCode::NotFound, format!("table `{name}` disappeared")))
            };
        };
        let status = table.table_status().cloned();
        last.set(status.as_ref().map_or("none", TableStatus::as_str));
        let done = !gone && status == Some(TableStatus::Active);
        *seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(table);
        Ok(done)
    })
    .await
    .map_err(|e| last.explain(e))?;
    Ok(seen.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner))
}

async fn wait_active(c: &Clients, name: &str) -> Result<TableDescription, ProviderError> {
    wait_for(c, name, false)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorCode::NotFound, format!("table `{name}` disappeared")))
}

async fn set_pitr(c: &Clients, name: &str, enabled: bool) -> Result<(), ProviderError> {
    let spec = PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(enabled)
        .build()
        .map_err(build_error)?;
    c.dynamodb
        .update_continuous_backups()
        .table_name(name)
        .point_in_time_recovery_specification(spec)
        .send()
        .await
        .aws("UpdateContinuousBackups", name)?;
    Ok(())
}

/// Turns TTL on for `attribute`, or off (DynamoDB needs the attribute that was on to turn it off).
async fn set_ttl(c: &Clients, name: &str, enabled: bool, attribute: &str) -> Result<(), ProviderError> {
    let spec =
        TimeToLiveSpecification::builder().enabled(enabled).attribute_name(attribute).build().map_err(build_error)?;
    c.dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await
        .aws("UpdateTimeToLive", name)?;
    Ok(())
}

fn attribute_definition(key: &KeyAttribute) -> Result<AttributeDefinition, ProviderError> {
    AttributeDefinition::builder()
        .attribute_name(&key.name)
        .attribute_type(ScalarAttributeType::from(key.attribute_type.as_str()))
        .build()
        .map_err(build_error)
}

fn key_element(key: &KeyAttribute, kind: KeyType) -> Result<KeySchemaElement, ProviderError> {
    KeySchemaElement::builder().attribute_name(&key.name).key_type(kind).build().map_err(build_error)
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: TableArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let mut definitions = vec![attribute_definition(&args.hash_key)?];
    let mut key_schema = vec![key_element(&args.hash_key, KeyType::Hash)?];
    if let Some(range) = &args.range_key {
        definitions.push(attribute_definition(range)?);
        key_schema.push(key_element(range, KeyType::Range)?);
    }
    c.dynamodb
        .create_table()
        .table_name(&name)
        .set_attribute_definitions(Some(definitions))
        .set_key_schema(Some(key_schema))
        .billing_mode(AwsBillingMode::from(args.billing_mode.as_str()))
        .set_provisioned_throughput(throughput(&args)?)
        .set_sse_specification(args.sse.as_ref().map(|s| sse_spec(Some(s))).transpose()?)
        .deletion_protection_enabled(args.deletion_protection)
        .set_tags(dynamo_tags(&args.tags)?)
        .send()
        .await
        .aws("CreateTable", &name)?;
    wait_active(c, &name).await?;
    if args.point_in_time_recovery {
        set_pitr(c, &name, true).await?;
    }
    if let Some(attribute) = &args.ttl_attribute {
        set_ttl(c, &name, true, attribute).await?;
    }
    let table = wait_active(c, &name).await?;
    Ok(CreateResponse { outputs: outputs(&table)?, id: name })
}

fn key_attribute(table: &TableDescription, kind: &KeyType) -> Result<Option<KeyAttribute>, ProviderError> {
    let Some(element) = table.key_schema().iter().find(|k| k.key_type() == kind) else { return Ok(None) };
    let name = element.attribute_name();
    let definition = table.attribute_definitions().iter().find(|d| d.attribute_name() == name);
    let raw = definition.map(|d| d.attribute_type().as_str()).unwrap_or_default();
    let attribute_type = AttributeType::from_aws(raw).ok_or_else(|| {
        ProviderError::internal(format!("key attribute `{name}` has type `{raw}`, which Cairn does not model"))
    })?;
    Ok(Some(KeyAttribute { name: name.to_owned(), attribute_type }))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(table) = describe(c, &name).await? else { return Ok(None) };
    let recorded: Option<TableArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let arn = table.table_arn().unwrap_or_default().to_owned();

    let hash_key = key_attribute(&table, &KeyType::Hash)?
        .ok_or_else(|| ProviderError::internal(format!("table `{name}` reports no partition key")))?;
    let billing_mode = match table.billing_mode_summary().and_then(|b| b.billing_mode()) {
        Some(AwsBillingMode::PayPerRequest) => BillingMode::PayPerRequest,
        // Tables created before billing modes existed report no summary: they are provisioned.
        _ => BillingMode::Provisioned,
    };
    let (read_capacity, write_capacity) = match billing_mode {
        BillingMode::PayPerRequest => (None, None),
        BillingMode::Provisioned => {
            let t = table.provisioned_throughput();
            (t.and_then(|t| t.read_capacity_units()), t.and_then(|t| t.write_capacity_units()))
        }
    };
    let backups = c
        .dynamodb
        .describe_continuous_backups()
        .table_name(&name)
        .send()
        .await
        .aws("DescribeContinuousBackups", &name)?;
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        == Some(&PointInTimeRecoveryStatus::Enabled);
    let ttl = c.dynamodb.describe_time_to_live().table_name(&name).send().await.aws("DescribeTimeToLive", &name)?;
    let ttl_attribute = ttl
        .time_to_live_description()
        .filter(|t| matches!(t.time_to_live_status(), Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)))
        .and_then(|t| t.attribute_name())
        .map(str::to_owned);
    let sse = match table.sse_description() {
        Some(d) if matches!(d.status(), Some(SseStatus::Enabled | SseStatus::Enabling | SseStatus::Updating)) => {
            // A key DynamoDB chose (the AWS managed one) is reported only when the program declared a key.
            let declared_key = recorded.as_ref().and_then(|r| r.sse.as_ref()).is_some_and(|s| s.kms_key_arn.is_some());
            let key = d.kms_master_key_arn().filter(|_| declared_key).map(|k| Input::Value(k.to_owned()));
            Some(TableSse { kms_key_arn: key })
        }
        _ => None,
    };
    let mut tags = BTreeMap::new();
    let mut next: Option<String> = None;
    loop {
        let page = c
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(&arn)
            .set_next_token(next.take())
            .send()
            .await
            .aws("ListTagsOfResource", &arn)?;
        tags.extend(page.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())));
        match page.next_token() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }

    let live = TableArgs {
        name: Some(Input::Value(name.clone())),
        hash_key,
        range_key: key_attribute(&table, &KeyType::Range)?,
        billing_mode,
        read_capacity,
        write_capacity,
        point_in_time_recovery: pitr,
        sse,
        ttl_attribute,
        deletion_protection: table.deletion_protection_enabled().unwrap_or(false),
        tags,
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&table)?,
        id: name,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: TableArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: TableArgs = cairn_provider_sdk::args(&req.news)?;
    let name = req.id.as_str();

    // Protection comes off first, so that the rest of the update and a later delete can proceed.
    if old.deletion_protection && !new.deletion_protection {
        c.dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(false)
            .send()
            .await
            .aws("UpdateTable", name)?;
        wait_active(c, name).await?;
    }
    let capacity = |a: &TableArgs| (a.billing_mode, a.read_capacity, a.write_capacity);
    if capacity(&old) != capacity(&new) {
        c.dynamodb
            .update_table()
            .table_name(name)
            .billing_mode(AwsBillingMode::from(new.billing_mode.as_str()))
            .set_provisioned_throughput(throughput(&new)?)
            .send()
            .await
            .aws("UpdateTable", name)?;
        wait_active(c, name).await?;
    }
    if old.sse != new.sse {
        c.dynamodb
            .update_table()
            .table_name(name)
            .sse_specification(sse_spec(new.sse.as_ref())?)
            .send()
            .await
            .aws("UpdateTable", name)?;
        wait_active(c, name).await?;
    }
    if old.point_in_time_recovery != new.point_in_time_recovery {
        set_pitr(c, name, new.point_in_time_recovery).await?;
    }
    if old.ttl_attribute != new.ttl_attribute {
        // DynamoDB has one TTL attribute: the old one goes off before another goes on.
        if let Some(previous) = &old.ttl_attribute {
            set_ttl(c, name, false, previous).await?;
        }
        if let Some(attribute) = &new.ttl_attribute {
            set_ttl(c, name, true, attribute).await?;
        }
    }
    if !old.deletion_protection && new.deletion_protection {
        c.dynamodb
            .update_table()
            .table_name(name)
            .deletion_protection_enabled(true)
            .send()
            .await
            .aws("UpdateTable", name)?;
    }
    let table = wait_active(c, name).await?;
    let arn = table.table_arn().unwrap_or_default().to_owned();
    let arn = arn.as_str();
    retag_by_arn!(c.dynamodb, arn, &old.tags, &new.tags, dynamo_tags).await?;
    Ok(UpdateResponse { outputs: outputs(&table)? })
}

/// Deletes the table and waits until it is gone. A table already gone counts
/// as deleted; a protected one is refused with the fix.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    let deleted = optional(c.dynamodb.delete_table().table_name(name).send().await.aws("DeleteTable", name));
    match deleted {
        Ok(None) => return Ok(()),
        Ok(Some(_)) => {}
        Err(mut e) if e.message.contains("DeletionProtectionEnabled") => {
            e.message = format!("{}: set deletion_protection to false and apply, then delete", e.message);
            return Err(e);
        }
        Err(e) => return Err(e),
    }
    wait_for(c, name, true).await?;
    Ok(())
}
