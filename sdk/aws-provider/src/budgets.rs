//! `aws:budgets:Budget`: the AWS Budgets calls. The provider ID is
//! `ACCOUNT:NAME`; the account is the declared `account_id`, else the
//! caller's (STS GetCallerIdentity).
//!
//! Notifications are identified by type, comparison, threshold and threshold
//! type; one whose subscribers change is deleted and created again (every
//! removal first, since AWS refuses two notifications alike).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_budgets::types::{
    Budget, BudgetType as AwsBudgetType, ComparisonOperator, Notification, NotificationType as AwsNotificationType,
    NotificationWithSubscribers, Spend, Subscriber, SubscriptionType, ThresholdType as AwsThresholdType, TimeUnit,
};
use cairn_aws::budgets::{
    BudgetArgs, BudgetNotification, BudgetOutputs, BudgetTimeUnit, BudgetType, NotificationComparison,
    NotificationType, ThresholdType, budget_id, parse_budget_id,
};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::sdk::{AwsResultExt, build_error};

/// The code AWS Budgets answers with for a budget that does not exist.
const BUDGET_NOT_FOUND: &str = "NotFoundException";

fn outputs(account: &str, name: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&BudgetOutputs {
        name: name.to_owned(),
        account_id: account.to_owned(),
        arn: format!("arn:aws:budgets::{account}:budget/{name}"),
    })
}

/// The declared account, or the caller's.
async fn account_of(c: &Clients, args: &BudgetArgs) -> Result<String, ProviderError> {
    if let Some(account) = &args.account_id {
        return Ok(account.clone());
    }
    let me = c.sts.get_caller_identity().send().await.aws("GetCallerIdentity", "the caller")?;
    me.account()
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::internal("GetCallerIdentity returned no account: set account_id"))
}

fn aws_budget(name: &str, args: &BudgetArgs) -> Result<Budget, ProviderError> {
    let limit =
        Spend::builder().amount(args.limit_amount.trim()).unit(&args.limit_unit).build().map_err(build_error)?;
    let filters: HashMap<String, Vec<String>> = args.cost_filters.clone().into_iter().collect();
    // CostFilters is deprecated in favour of FilterExpression, but still honoured by AWS and the one
    // the emulator knows; `cost_filters` maps onto it one to one.
    #[allow(deprecated)]
    Budget::builder()
        .budget_name(name)
        .budget_limit(limit)
        .time_unit(TimeUnit::from(args.time_unit.as_str()))
        .budget_type(AwsBudgetType::from(args.budget_type.as_str()))
        .set_cost_filters((!filters.is_empty()).then_some(filters))
        .build()
        .map_err(build_error)
}

fn aws_notification(n: &BudgetNotification) -> Result<Notification, ProviderError> {
    Notification::builder()
        .notification_type(AwsNotificationType::from(n.notification_type.as_str()))
        .comparison_operator(ComparisonOperator::from(n.comparison_operator.as_str()))
        .threshold(n.threshold)
        .threshold_type(AwsThresholdType::from(n.threshold_type.as_str()))
        .build()
        .map_err(build_error)
}

fn subscribers(n: &BudgetNotification) -> Result<Vec<Subscriber>, ProviderError> {
    n.subscriber_emails
        .iter()
        .map(|e| {
            Subscriber::builder().subscription_type(SubscriptionType::Email).address(e).build().map_err(build_error)
        })
        .collect()
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: BudgetArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let account = account_of(c, &args).await?;
    let notifications = args
        .notifications
        .iter()
        .map(|n| {
            NotificationWithSubscribers::builder()
                .notification(aws_notification(n)?)
                .set_subscribers(Some(subscribers(n)?))
                .build()
                .map_err(build_error)
        })
        .collect::<Result<Vec<_>, _>>()?;
    c.budgets
        .create_budget()
        .account_id(&account)
        .budget(aws_budget(&name, &args)?)
        .set_notifications_with_subscribers((!notifications.is_empty()).then_some(notifications))
        .send()
        .await
        .aws("CreateBudget", &name)?;
    Ok(CreateResponse { outputs: outputs(&account, &name)?, id: budget_id(&account, &name) })
}

/// The account and name of the budget to read: from the ID, or from the inputs.
async fn target(c: &Clients, req: &ReadRequest) -> Result<(String, String), ProviderError> {
    if let Some(id) = &req.id {
        let (account, name) = parse_budget_id(id)
            .ok_or_else(|| ProviderError::invalid(format!("`{id}` is not a budget ID (ACCOUNT:NAME)")))?;
        return Ok((account.to_owned(), name.to_owned()));
    }
    let name = cairn_provider_sdk::input_str(&req.inputs, "name")?;
    let account = match req.inputs.get("account_id").and_then(Value::as_str) {
        Some(a) => a.to_owned(),
        None => {
            let me = c.sts.get_caller_identity().send().await.aws("GetCallerIdentity", "the caller")?;
            me.account().unwrap_or_default().to_owned()
        }
    };
    Ok((account, name))
}

fn unmodelled(name: &str, what: &str, value: &str) -> ProviderError {
    ProviderError::internal(format!("budget `{name}` has {what} `{value}`, which Cairn does not model"))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let (account, name) = target(c, &req).await?;
    let recorded: Option<BudgetArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let got = c.budgets.describe_budget().account_id(&account).budget_name(&name).send().await.aws_unless(
        &[BUDGET_NOT_FOUND],
        "DescribeBudget",
        &name,
    )?;
    let Some(budget) = got.as_ref().and_then(|g| g.budget()) else { return Ok(None) };

    let budget_type = BudgetType::from_aws(budget.budget_type().as_str())
        .ok_or_else(|| unmodelled(&name, "budget type", budget.budget_type().as_str()))?;
    let time_unit = BudgetTimeUnit::from_aws(budget.time_unit().as_str())
        .ok_or_else(|| unmodelled(&name, "time unit", budget.time_unit().as_str()))?;
    let (amount, unit) = budget.budget_limit().map(|s| (s.amount(), s.unit())).unwrap_or_default();
    // AWS writes amounts its own way ("100.0" for "100"): the declared spelling of an equal amount is kept.
    let limit_amount = match recorded.as_ref() {
        Some(r) if same_amount(&r.limit_amount, amount) => r.limit_amount.clone(),
        _ => amount.to_owned(),
    };
    #[allow(deprecated)] // see `budget()`
    let cost_filters: BTreeMap<String, Vec<String>> =
        budget.cost_filters().map(|f| f.clone().into_iter().collect()).unwrap_or_default();

    let listed = c
        .budgets
        .describe_notifications_for_budget()
        .account_id(&account)
        .budget_name(&name)
        .send()
        .await
        .aws("DescribeNotificationsForBudget", &name)?;
    let mut notifications = Vec::new();
    for n in listed.notifications() {
        let subs = c
            .budgets
            .describe_subscribers_for_notification()
            .account_id(&account)
            .budget_name(&name)
            .notification(n.clone())
            .send()
            .await
            .aws("DescribeSubscribersForNotification", &name)?;
        let mut emails: Vec<String> = subs
            .subscribers()
            .iter()
            .filter(|s| *s.subscription_type() == SubscriptionType::Email)
            .map(|s| s.address().to_owned())
            .collect();
        let kind = n.notification_type().as_str();
        let op = n.comparison_operator().as_str();
        let tt = n.threshold_type().map(|t| t.as_str()).unwrap_or("PERCENTAGE");
        let live = BudgetNotification {
            notification_type: NotificationType::from_aws(kind)
                .ok_or_else(|| unmodelled(&name, "notification type", kind))?,
            comparison_operator: NotificationComparison::from_aws(op)
                .ok_or_else(|| unmodelled(&name, "comparison", op))?,
            threshold: n.threshold(),
            threshold_type: ThresholdType::from_aws(tt).ok_or_else(|| unmodelled(&name, "threshold type", tt))?,
            subscriber_emails: Vec::new(),
        };
        // Subscribers in the recorded order, so AWS's order is not a change.
        let declared = recorded.as_ref().and_then(|r| r.notifications.iter().find(|d| d.identity() == live.identity()));
        if let Some(d) = declared {
            emails = crate::changes::order_like(emails, &d.subscriber_emails);
        }
        notifications.push(BudgetNotification { subscriber_emails: emails, ..live });
    }
    // Notifications in the recorded order too.
    let order: Vec<_> = recorded
        .as_ref()
        .map(|r| r.notifications.iter().map(BudgetNotification::identity).collect())
        .unwrap_or_default();
    notifications.sort_by_key(|n| order.iter().position(|i| *i == n.identity()).unwrap_or(usize::MAX));

    let live = BudgetArgs {
        name: Some(Input::Value(name.clone())),
        account_id: recorded.as_ref().and_then(|r| r.account_id.clone()),
        budget_type,
        limit_amount,
        limit_unit: unit.to_owned(),
        time_unit,
        cost_filters,
        notifications,
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&account, &name)?,
        id: budget_id(&account, &name),
    }))
}

/// Two decimal amounts that are the same number ("100" and "100.0").
fn same_amount(a: &str, b: &str) -> bool {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: BudgetArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: BudgetArgs = cairn_provider_sdk::args(&req.news)?;
    let (account, name) = parse_budget_id(&req.id)
        .ok_or_else(|| ProviderError::invalid(format!("`{}` is not a budget ID (ACCOUNT:NAME)", req.id)))?;

    let limit =
        |a: &BudgetArgs| (a.limit_amount.trim().to_owned(), a.limit_unit.clone(), a.time_unit, a.cost_filters.clone());
    if limit(&old) != limit(&new) {
        c.budgets
            .update_budget()
            .account_id(account)
            .new_budget(aws_budget(name, &new)?)
            .send()
            .await
            .aws("UpdateBudget", name)?;
    }
    let removed: Vec<&BudgetNotification> =
        old.notifications.iter().filter(|o| !new.notifications.contains(o)).collect();
    let added: Vec<&BudgetNotification> = new.notifications.iter().filter(|n| !old.notifications.contains(n)).collect();
    for n in removed {
        let deleted = c
            .budgets
            .delete_notification()
            .account_id(account)
            .budget_name(name)
            .notification(aws_notification(n)?)
            .send()
            .await;
        deleted.aws_unless(&[BUDGET_NOT_FOUND], "DeleteNotification", name)?;
    }
    for n in added {
        c.budgets
            .create_notification()
            .account_id(account)
            .budget_name(name)
            .notification(aws_notification(n)?)
            .set_subscribers(Some(subscribers(n)?))
            .send()
            .await
            .aws("CreateNotification", name)?;
    }
    Ok(UpdateResponse { outputs: outputs(account, name)? })
}

/// Deletes the budget and its notifications. A budget already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let Some((account, name)) = parse_budget_id(&req.id) else {
        return Err(ProviderError::new(
            ErrorCode::InvalidArgument,
            format!("`{}` is not a budget ID (ACCOUNT:NAME)", req.id),
        ));
    };
    c.budgets.delete_budget().account_id(account).budget_name(name).send().await.aws_unless(
        &[BUDGET_NOT_FOUND],
        "DeleteBudget",
        name,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_compare_as_numbers() {
        assert!(same_amount("100", "100.0"));
        assert!(!same_amount("100", "100.5"));
        assert!(same_amount("n/a", "n/a"));
    }
}
