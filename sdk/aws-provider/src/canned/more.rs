//! Canned SDK responses ([`super::rules`]) for the storage and monitoring
//! types' calls the emulator lacks (moto 5.1.22): SageMaker
//! DeleteModelPackageGroup (500), Budgets UpdateBudget and
//! DescribeSubscribersForNotification (500, so a budget cannot be read or
//! imported there), and DynamoDB UpdateTable's SSESpecification (ignored).

use std::time::Duration;

use cairn_aws::budgets::{BudgetArgs, BudgetNotification, NotificationComparison, NotificationType};
use cairn_aws::dynamodb::{AttributeType, KeyAttribute, TableArgs, TableSse};
use cairn_core::{DeleteRequest, ReadRequest, UpdateRequest, Urn, Value};

use crate::canned::rules::rule;
use crate::canned::{Rules, clients_with};
use crate::{budgets as budget, dynamodb as dynamodb_table, sagemaker as model_package_group};

const ACCOUNT: &str = "123456789012";

fn urn(ty: &str, name: &str) -> Urn {
    Urn::parse(&format!("urn:cairn:dev::ai::{ty}::{name}")).unwrap()
}

// ---------------------------------------------------------------------------
// aws:sagemaker:ModelPackageGroup: DeleteModelPackageGroup answers 500 in moto.

mod sagemaker {
    use aws_sdk_sagemaker::error::ErrorMetadata;
    use aws_sdk_sagemaker::operation::delete_model_package_group::DeleteModelPackageGroupOutput;
    use aws_sdk_sagemaker::operation::describe_model_package_group::{
        DescribeModelPackageGroupError, DescribeModelPackageGroupOutput,
    };
    use aws_sdk_sagemaker::types::ModelPackageGroupStatus;

    use super::*;

    pub(super) const GROUP: &str = "fraud-models";

    pub(super) fn group_in(status: ModelPackageGroupStatus) -> DescribeModelPackageGroupOutput {
        DescribeModelPackageGroupOutput::builder()
            .model_package_group_name(GROUP)
            .model_package_group_arn(format!("arn:aws:sagemaker:us-east-1:{ACCOUNT}:model-package-group/{GROUP}"))
            .model_package_group_status(status)
            .build()
    }

    /// What SageMaker answers for a group that does not exist.
    pub(super) fn missing() -> DescribeModelPackageGroupError {
        DescribeModelPackageGroupError::generic(
            ErrorMetadata::builder()
                .code("ValidationException")
                .message(format!("ModelPackageGroup {GROUP} does not exist."))
                .build(),
        )
    }

    pub(super) fn delete_request() -> DeleteRequest {
        DeleteRequest {
            urn: urn("aws:sagemaker:ModelPackageGroup", "models"),
            id: GROUP.into(),
            inputs: Value::from_json(&serde_json::json!({"name": GROUP, "tags": {}})),
            outputs: Value::map(),
        }
    }

    pub(super) fn deleted() -> DeleteModelPackageGroupOutput {
        DeleteModelPackageGroupOutput::builder().build()
    }
}

#[tokio::test]
async fn a_model_package_group_is_deleted_and_waited_for() {
    use aws_sdk_sagemaker::types::ModelPackageGroupStatus;
    let describe = rule!(aws_sdk_sagemaker::Client::describe_model_package_group)
        .match_requests(|r| r.model_package_group_name() == Some(sagemaker::GROUP))
        .output(|| sagemaker::group_in(ModelPackageGroupStatus::Completed))
        .output(|| sagemaker::group_in(ModelPackageGroupStatus::Deleting))
        .error(sagemaker::missing)
        .build();
    let delete = rule!(aws_sdk_sagemaker::Client::delete_model_package_group)
        .match_requests(|r| r.model_package_group_name() == Some(sagemaker::GROUP))
        .then_output(sagemaker::deleted);
    let c = clients_with(Rules { sagemaker: &[&describe, &delete], ..Rules::default() });
    let started = c.waits.time.now();
    model_package_group::delete(&c, sagemaker::delete_request()).await.expect("deleted, then gone");
    assert_eq!(delete.num_calls(), 1, "one DeleteModelPackageGroup");
    assert_eq!(describe.num_calls(), 3, "one look before the delete, two after (DELETING, then gone)");
    assert!(
        c.waits.time.now().duration_since(started).unwrap() >= Duration::from_secs(5),
        "the wait polled again after its interval"
    );
}

#[tokio::test]
async fn a_model_package_group_already_gone_counts_as_deleted() {
    let describe = rule!(aws_sdk_sagemaker::Client::describe_model_package_group).then_error(sagemaker::missing);
    let delete = rule!(aws_sdk_sagemaker::Client::delete_model_package_group).then_output(sagemaker::deleted);
    let c = clients_with(Rules { sagemaker: &[&describe, &delete], ..Rules::default() });
    model_package_group::delete(&c, sagemaker::delete_request()).await.expect("already gone is deleted");
    assert_eq!(delete.num_calls(), 0, "nothing to delete");
    assert_eq!(describe.num_calls(), 1);
}

// ---------------------------------------------------------------------------
// aws:budgets:Budget: UpdateBudget and DescribeSubscribersForNotification answer 500 in moto.

const BUDGET: &str = "monthly-1234567";

fn budget_args(limit: &str) -> BudgetArgs {
    let mut args = BudgetArgs::builder()
        .name(BUDGET)
        .limit_amount(limit)
        .notifications(vec![
            BudgetNotification::builder()
                .notification_type(NotificationType::Actual)
                .comparison_operator(NotificationComparison::GreaterThan)
                .threshold(80.0)
                .subscriber_emails(["finops@example.com", "cto@example.com"])
                .build(),
        ])
        .build();
    args.account_id = None;
    args
}

fn budget_value(args: &BudgetArgs) -> Value {
    Value::from_serialize(args).unwrap()
}

#[tokio::test]
async fn a_new_budget_limit_is_one_update_budget_call() {
    use aws_sdk_budgets::operation::update_budget::UpdateBudgetOutput;
    let update = rule!(aws_sdk_budgets::Client::update_budget)
        .match_requests(|r| {
            let budget = r.new_budget();
            r.account_id() == Some(ACCOUNT)
                && budget.map(|b| b.budget_name()) == Some(BUDGET)
                && budget.and_then(|b| b.budget_limit()).map(|s| (s.amount(), s.unit())) == Some(("250", "USD"))
                && budget.map(|b| b.time_unit().as_str()) == Some("MONTHLY")
        })
        .then_output(|| UpdateBudgetOutput::builder().build());
    let c = clients_with(Rules { budgets: &[&update], ..Rules::default() });
    let req = UpdateRequest {
        urn: urn("aws:budgets:Budget", "monthly"),
        id: format!("{ACCOUNT}:{BUDGET}"),
        olds: budget_value(&budget_args("100")),
        old_outputs: Value::map(),
        news: budget_value(&budget_args("250")),
    };
    let out = budget::update(&c, req).await.expect("UpdateBudget with the new limit");
    assert_eq!(update.num_calls(), 1, "exactly one UpdateBudget, carrying the new limit");
    assert_eq!(out.outputs.get("account_id").and_then(Value::as_str), Some(ACCOUNT), "{:?}", out.outputs);
    assert_eq!(out.outputs.get("name").and_then(Value::as_str), Some(BUDGET));
}

#[tokio::test]
async fn a_budget_reads_back_as_declared_so_import_adopts_it() {
    use aws_sdk_budgets::operation::describe_budget::DescribeBudgetOutput;
    use aws_sdk_budgets::operation::describe_notifications_for_budget::DescribeNotificationsForBudgetOutput;
    use aws_sdk_budgets::operation::describe_subscribers_for_notification::DescribeSubscribersForNotificationOutput;
    use aws_sdk_budgets::types::{
        Budget, BudgetType, ComparisonOperator, Notification, NotificationType as AwsType, Spend, Subscriber,
        SubscriptionType, ThresholdType, TimeUnit,
    };
    let describe = rule!(aws_sdk_budgets::Client::describe_budget)
        .match_requests(|r| r.account_id() == Some(ACCOUNT) && r.budget_name() == Some(BUDGET))
        .then_output(|| {
            let limit = Spend::builder().amount("100.0").unit("USD").build().unwrap();
            let budget = Budget::builder()
                .budget_name(BUDGET)
                .budget_limit(limit)
                .time_unit(TimeUnit::Monthly)
                .budget_type(BudgetType::Cost)
                .build()
                .unwrap();
            DescribeBudgetOutput::builder().budget(budget).build()
        });
    let notification = || {
        Notification::builder()
            .notification_type(AwsType::Actual)
            .comparison_operator(ComparisonOperator::GreaterThan)
            .threshold(80.0)
            .threshold_type(ThresholdType::Percentage)
            .build()
            .unwrap()
    };
    let notifications = rule!(aws_sdk_budgets::Client::describe_notifications_for_budget)
        .then_output(move || DescribeNotificationsForBudgetOutput::builder().notifications(notification()).build());
    // AWS lists the subscribers in its own order: not the declared one.
    let subscribers = rule!(aws_sdk_budgets::Client::describe_subscribers_for_notification).then_output(|| {
        let email =
            |a: &str| Subscriber::builder().subscription_type(SubscriptionType::Email).address(a).build().unwrap();
        DescribeSubscribersForNotificationOutput::builder()
            .subscribers(email("cto@example.com"))
            .subscribers(email("finops@example.com"))
            .build()
    });
    let c = clients_with(Rules { budgets: &[&describe, &notifications, &subscribers], ..Rules::default() });
    let declared = budget_value(&budget_args("100"));
    let req = ReadRequest {
        urn: urn("aws:budgets:Budget", "monthly"),
        id: Some(format!("{ACCOUNT}:{BUDGET}")),
        inputs: declared.clone(),
        outputs: None,
    };
    let read = budget::read(&c, req).await.expect("read").expect("the budget exists");
    assert_eq!((describe.num_calls(), notifications.num_calls(), subscribers.num_calls()), (1, 1, 1));
    assert_eq!(read.id, format!("{ACCOUNT}:{BUDGET}"));
    // "100.0" is the declared "100"; the subscribers come in the declared order: the live inputs are the
    // declared ones, so an import finds no difference.
    assert_eq!(read.inputs, declared, "live {:?}", read.inputs.to_json());
    let diff = cairn_provider_sdk::diff_schema(
        <cairn_aws::budgets::BudgetArgs as cairn_core::schema::TypedArgs>::SCHEMA,
        &read.inputs,
        &declared,
    );
    assert!(diff.changes.is_empty(), "{:?}", diff.changes);
    assert_eq!(
        read.outputs.get("arn").and_then(Value::as_str),
        Some(format!("arn:aws:budgets::{ACCOUNT}:budget/{BUDGET}").as_str())
    );
}

// ---------------------------------------------------------------------------
// aws:dynamodb:Table: moto ignores UpdateTable's SSESpecification.

#[tokio::test]
async fn turning_table_encryption_on_calls_update_table_with_sse() {
    use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
    use aws_sdk_dynamodb::operation::update_table::UpdateTableOutput;
    use aws_sdk_dynamodb::types::{TableDescription, TableStatus};
    const TABLE: &str = "events-1234567";
    let update = rule!(aws_sdk_dynamodb::Client::update_table)
        .match_requests(|r| {
            let sse = r.sse_specification();
            r.table_name() == Some(TABLE)
                && sse.and_then(|s| s.enabled()) == Some(true)
                && sse.and_then(|s| s.sse_type()).map(|t| t.as_str()) == Some("KMS")
                && r.billing_mode().is_none()
                && r.deletion_protection_enabled().is_none()
        })
        .then_output(|| UpdateTableOutput::builder().build());
    let describe = rule!(aws_sdk_dynamodb::Client::describe_table).then_output(|| {
        let table = TableDescription::builder()
            .table_name(TABLE)
            .table_arn(format!("arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"))
            .table_status(TableStatus::Active)
            .build();
        DescribeTableOutput::builder().table(table).build()
    });
    let c = clients_with(Rules { dynamodb: &[&update, &describe], ..Rules::default() });
    let mut old = TableArgs::builder().name(TABLE).hash_key(KeyAttribute::new("pk", AttributeType::S)).build();
    old.sse = None;
    let mut new = old.clone();
    new.sse = Some(TableSse::default());
    let req = UpdateRequest {
        urn: urn("aws:dynamodb:Table", "events"),
        id: TABLE.into(),
        olds: Value::from_serialize(&old).unwrap(),
        old_outputs: Value::map(),
        news: Value::from_serialize(&new).unwrap(),
    };
    let out = dynamodb_table::update(&c, req).await.expect("UpdateTable with SSE on");
    assert_eq!(update.num_calls(), 1, "one UpdateTable, turning KMS encryption on (the AWS managed key)");
    assert!(describe.num_calls() >= 1, "waited for ACTIVE");
    assert_eq!(out.outputs.get("name").and_then(Value::as_str), Some(TABLE), "{:?}", out.outputs);
}
