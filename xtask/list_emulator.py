#!/usr/bin/env python3
"""List what exists in the local AWS emulator (moto), for `cargo xtask demo`.

Usage: list_emulator.py ENDPOINT   (e.g. http://127.0.0.1:5000)

Only the standard library and boto3; the credentials are moto's dummies.
"""

import sys

import boto3
from botocore.exceptions import ClientError


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def fmt_map(mapping):
    if not mapping:
        return "-"
    return ", ".join(f"{key}={value}" for key, value in sorted(mapping.items()))


def fmt_list(items):
    return ", ".join(items) if items else "-"


def list_buckets(s3):
    print("S3 buckets:")
    buckets = s3.list_buckets().get("Buckets", [])
    if not buckets:
        print("  (none)")
    for bucket in buckets:
        name = bucket["Name"]
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status", "Disabled")
        try:
            rules = s3.get_bucket_encryption(Bucket=name)[
                "ServerSideEncryptionConfiguration"
            ]["Rules"]
            algorithms = [
                rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
                for rule in rules
                if "ApplyServerSideEncryptionByDefault" in rule
            ]
        except ClientError:
            algorithms = []
        try:
            tag_set = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except ClientError:
            tag_set = []
        tags = {tag["Key"]: tag["Value"] for tag in tag_set}
        print(f"  {name}")
        print(f"    versioning: {versioning}")
        print(f"    encryption: {fmt_list(algorithms)}")
        print(f"    tags:       {fmt_map(tags)}")


def list_roles(iam):
    print("IAM roles:")
    roles = [
        role
        for page in iam.get_paginator("list_roles").paginate()
        for role in page["Roles"]
    ]
    if not roles:
        print("  (none)")
    for role in roles:
        name = role["RoleName"]
        attached = [
            policy["PolicyName"]
            for page in iam.get_paginator("list_attached_role_policies").paginate(
                RoleName=name
            )
            for policy in page["AttachedPolicies"]
        ]
        inline = [
            policy
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name)
            for policy in page["PolicyNames"]
        ]
        print(f"  {name}")
        print(f"    managed policies: {fmt_list(attached)}")
        print(f"    inline policies:  {fmt_list(inline)}")


def list_clusters(eks):
    print("EKS clusters:")
    names = eks.list_clusters().get("clusters", [])
    if not names:
        print("  (none)")
    for name in names:
        cluster = eks.describe_cluster(name=name)["cluster"]
        print(f"  {name}: version {cluster.get('version', '?')}, {cluster.get('status', '?')}")
        groups = eks.list_nodegroups(clusterName=name).get("nodegroups", [])
        if not groups:
            print("    node groups: (none)")
        for group_name in groups:
            group = eks.describe_nodegroup(clusterName=name, nodegroupName=group_name)[
                "nodegroup"
            ]
            scaling = group.get("scalingConfig", {})
            taints = [
                f"{taint.get('key')}={taint.get('value', '')}:{taint.get('effect')}"
                for taint in group.get("taints", [])
            ]
            print(f"    node group {group_name}: {group.get('status', '?')}")
            print(f"      instance types: {fmt_list(group.get('instanceTypes', []))}")
            print(f"      capacity type:  {group.get('capacityType', '-')}")
            print(f"      ami type:       {group.get('amiType', '-')}")
            print(
                f"      scaling:        min {scaling.get('minSize', '?')}, "
                f"desired {scaling.get('desiredSize', '?')}, max {scaling.get('maxSize', '?')}"
            )
            print(f"      labels:         {fmt_map(group.get('labels', {}))}")
            print(f"      taints:         {fmt_list(taints)}")


def list_others(endpoint):
    """One line per kind of the other resources the example declares: what there is, by name."""
    c = lambda service: client(service, endpoint)  # noqa: E731
    kinds = [
        ("VPCs", lambda: [v["VpcId"] + " " + v["CidrBlock"] for v in c("ec2").describe_vpcs()["Vpcs"] if not v.get("IsDefault")]),
        ("NAT gateways", lambda: [g["NatGatewayId"] for g in c("ec2").describe_nat_gateways()["NatGateways"]]),
        ("OIDC providers", lambda: [p["Arn"].split("/", 1)[1] for p in c("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]]),
        ("KMS keys", lambda: [k["KeyId"] for k in c("kms").list_keys()["Keys"]]),
        ("ECR repositories", lambda: [r["repositoryName"] for r in c("ecr").describe_repositories()["repositories"]]),
        ("SageMaker model package groups", lambda: [g["ModelPackageGroupName"] for g in c("sagemaker").list_model_package_groups()["ModelPackageGroupSummaryList"]]),
        ("DynamoDB tables", lambda: c("dynamodb").list_tables()["TableNames"]),
        ("SQS queues", lambda: [u.rsplit("/", 1)[1] for u in c("sqs").list_queues().get("QueueUrls", [])]),
        ("Log groups", lambda: [g["logGroupName"] for g in c("logs").describe_log_groups()["logGroups"]]),
        ("CloudWatch alarms", lambda: [a["AlarmName"] for a in c("cloudwatch").describe_alarms()["MetricAlarms"]]),
        ("Prometheus workspaces", lambda: [w["workspaceId"] + " " + w.get("alias", "") for w in c("amp").list_workspaces()["workspaces"]]),
        ("Budgets", lambda: [b["BudgetName"] + " " + b["BudgetLimit"]["Amount"] + " USD" for b in c("budgets").describe_budgets(AccountId="123456789012").get("Budgets", [])]),
        ("Secrets", lambda: [s["Name"] for s in c("secretsmanager").list_secrets()["SecretList"]]),
    ]
    for title, names in kinds:
        try:
            found = names()
        except ClientError as e:
            found = [f"(could not list: {e.response['Error'].get('Code')})"]
        print(f"{title} ({len(found)}): {fmt_list(sorted(found))}")


def main():
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} ENDPOINT")
    endpoint = sys.argv[1]
    print(f"Resources in the AWS emulator at {endpoint}:")
    list_buckets(client("s3", endpoint))
    list_roles(client("iam", endpoint))
    list_clusters(client("eks", endpoint))
    list_others(endpoint)


if __name__ == "__main__":
    main()
