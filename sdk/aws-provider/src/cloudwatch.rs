//! `aws:cloudwatch:MetricAlarm`: the CloudWatch calls. The provider ID is the
//! alarm name. PutMetricAlarm both creates and replaces the whole
//! configuration; tags change through TagResource and UntagResource (a
//! PutMetricAlarm on an existing alarm ignores its tags).

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator as AwsComparison, Dimension, MetricAlarm, Statistic as AwsStatistic, Tag,
};
use cairn_aws::cloudwatch::{ComparisonOperator, MetricAlarmArgs, MetricAlarmOutputs, Statistic, TreatMissingData};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::{order_like, retag_by_arn};
use crate::sdk::AwsResultExt;
use cairn_provider_sdk::known;

fn outputs(arn: &str, name: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&MetricAlarmOutputs { arn: arn.to_owned(), name: name.to_owned() })
}

fn cloudwatch_tags(tags: &BTreeMap<String, String>) -> Result<Option<Vec<Tag>>, ProviderError> {
    crate::sdk::tag_list(tags, |k, v| Ok::<_, std::convert::Infallible>(Tag::builder().key(k).value(v).build()))
}

/// The alarm called `name`, or `None`.
async fn describe(c: &Clients, name: &str) -> Result<Option<MetricAlarm>, ProviderError> {
    let out = c
        .cloudwatch
        .describe_alarms()
        .alarm_names(name)
        .alarm_types(AlarmType::MetricAlarm)
        .send()
        .await
        .aws("DescribeAlarms", name)?;
    Ok(out.metric_alarms().iter().find(|a| a.alarm_name() == Some(name)).cloned())
}

/// PutMetricAlarm with the whole declared configuration (tags only on create).
async fn put(c: &Clients, name: &str, args: &MetricAlarmArgs, with_tags: bool) -> Result<(), ProviderError> {
    let dimensions = args
        .dimensions
        .iter()
        .map(|(k, v)| Ok(Dimension::builder().name(k).value(cairn_provider_sdk::known(v, "dimensions")?).build()))
        .collect::<Result<Vec<_>, ProviderError>>()?;
    let actions = args
        .alarm_actions
        .iter()
        .enumerate()
        .map(|(i, a)| known(a, &format!("alarm_actions[{i}]")).cloned())
        .collect::<Result<Vec<_>, _>>()?;
    c.cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace(&args.namespace)
        .metric_name(&args.metric_name)
        .statistic(AwsStatistic::from(args.statistic.as_str()))
        .set_dimensions(Some(dimensions))
        .period(args.period)
        .evaluation_periods(args.evaluation_periods)
        .threshold(args.threshold)
        .comparison_operator(AwsComparison::from(args.comparison_operator.as_str()))
        .treat_missing_data(args.treat_missing_data.as_str())
        .set_alarm_actions(Some(actions))
        .set_tags(if with_tags { cloudwatch_tags(&args.tags)? } else { None })
        .send()
        .await
        .aws("PutMetricAlarm", name)?;
    Ok(())
}

async fn arn_of(c: &Clients, name: &str) -> Result<String, ProviderError> {
    let alarm = describe(c, name)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorCode::NotFound, format!("alarm `{name}` does not exist")))?;
    Ok(alarm.alarm_arn().unwrap_or_default().to_owned())
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: MetricAlarmArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    put(c, &name, &args, true).await?;
    let arn = arn_of(c, &name).await?;
    Ok(CreateResponse { outputs: outputs(&arn, &name)?, id: name })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(alarm) = describe(c, &name).await? else { return Ok(None) };
    let recorded: Option<MetricAlarmArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let arn = alarm.alarm_arn().unwrap_or_default().to_owned();
    let unmodelled = |what: &str, value: &str| {
        ProviderError::internal(format!("alarm `{name}` has {what} `{value}`, which Cairn does not model"))
    };
    let statistic = alarm.statistic().map(|s| s.as_str()).unwrap_or_default();
    let statistic = Statistic::from_aws(statistic).ok_or_else(|| unmodelled("statistic", statistic))?;
    let comparison = alarm.comparison_operator().map(|s| s.as_str()).unwrap_or_default();
    let comparison_operator =
        ComparisonOperator::from_aws(comparison).ok_or_else(|| unmodelled("comparison operator", comparison))?;
    let treat_missing_data = match alarm.treat_missing_data() {
        None => TreatMissingData::default(),
        Some(t) => TreatMissingData::from_aws(t).ok_or_else(|| unmodelled("treat_missing_data", t))?,
    };
    let recorded_actions: Vec<String> = recorded
        .as_ref()
        .map(|r| r.alarm_actions.iter().filter_map(|a| a.value().cloned()).collect())
        .unwrap_or_default();
    let alarm_actions =
        order_like(alarm.alarm_actions().to_vec(), &recorded_actions).into_iter().map(Input::Value).collect();
    let tags =
        c.cloudwatch.list_tags_for_resource().resource_arn(&arn).send().await.aws("ListTagsForResource", &arn)?;

    let live = MetricAlarmArgs {
        name: Some(Input::Value(name.clone())),
        namespace: alarm.namespace().unwrap_or_default().to_owned(),
        metric_name: alarm.metric_name().unwrap_or_default().to_owned(),
        statistic,
        dimensions: alarm
            .dimensions()
            .iter()
            .map(|d| (d.name().unwrap_or_default().to_owned(), Input::Value(d.value().unwrap_or_default().to_owned())))
            .collect(),
        period: alarm.period().unwrap_or_default(),
        evaluation_periods: alarm.evaluation_periods().unwrap_or_default(),
        threshold: alarm.threshold().unwrap_or_default(),
        comparison_operator,
        treat_missing_data,
        alarm_actions,
        tags: tags
            .tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
            .collect(),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&arn, &name)?,
        id: name,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: MetricAlarmArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: MetricAlarmArgs = cairn_provider_sdk::args(&req.news)?;
    let name = req.id.as_str();
    let config = |a: &MetricAlarmArgs| {
        let mut v = cairn_provider_sdk::to_value(a)?;
        if let Value::Map(m) = &mut v {
            m.remove("tags");
        }
        Ok::<_, ProviderError>(v)
    };
    if config(&old)? != config(&new)? {
        put(c, name, &new, false).await?;
    }
    let arn = arn_of(c, name).await?;
    let arn = arn.as_str();
    retag_by_arn!(c.cloudwatch, arn, &old.tags, &new.tags, cloudwatch_tags).await?;
    Ok(UpdateResponse { outputs: outputs(arn, name)? })
}

/// Deletes the alarm. An alarm already gone counts as deleted (moto answers
/// success, AWS `ResourceNotFound`).
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    c.cloudwatch.delete_alarms().alarm_names(name).send().await.aws_unless(
        &["ResourceNotFound"],
        "DeleteAlarms",
        name,
    )?;
    Ok(())
}
