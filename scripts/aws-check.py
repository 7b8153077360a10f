#!/usr/bin/env python3
"""Independent check of what stackc's aws provider made, through boto3.

Used by the aws tests against moto (never by stackc itself), so that what
the provider reports is checked by a client that shares none of its code.

  aws-check.py --endpoint URL owned STACK [--prefix]
      every live object tagged stackc:stack=STACK (with --prefix: whose
      stack tag starts with STACK), as JSON lines
      {"type": ..., "id": ..., "address": ..., "stack": ...}
  aws-check.py --endpoint URL terminate INSTANCE_ID
      terminates an instance behind stackc's back
  aws-check.py --endpoint URL delete-listener LISTENER_ARN
      deletes a load balancer's listener behind stackc's back
  aws-check.py --endpoint URL tag RESOURCE_ID KEY=VALUE
      sets a tag on an EC2 object behind stackc's back (drift)
  aws-check.py --endpoint URL detach VOLUME_ID
      detaches a volume from its instance behind stackc's back
  aws-check.py --endpoint URL attachment INSTANCE_ID
      the ids of the volumes attached to an instance, its root volume
      (deleted with the instance) left out, as JSON
  aws-check.py --endpoint URL shop STACK [--desired-count N]
      the shop example's architecture: three running instances each with
      its own attached volume, an ALB whose listener forwards to the target
      group, an ECS service with desired count N (default 4), the secret
      with a current value and the parameters; prints a JSON summary, exits
      1 listing what is wrong.

  aws-check.py --endpoint URL listener LISTENER_ARN
      the listener's default forward action as JSON: {"target_group_arn":
      the plain form's group or null, "weights": {group arn: weight}} (a
      plain forward: its one group, weight null)
  aws-check.py --endpoint URL stop-target TARGET_GROUP_ARN
      makes a target of the group unhealthy behind stackc's back: starts an
      instance in the group's VPC, registers it, stops it (the group then
      reports it "unused", Target.InvalidState, as AWS does a stopped
      target); prints {"instance": id}
  aws-check.py --endpoint URL service SERVICE_ARN
      an ECS service as JSON: {"status", "desired", "running",
      "task_definition", "images": [the task definition's container images]}
      ({"status": "MISSING"} when ECS does not know it)

--region (default eu-west-3) names the region the objects are in.
"""

import argparse
import json
import sys

import boto3
from botocore.exceptions import ClientError

DEFAULT_REGION = "eu-west-3"
REGION = DEFAULT_REGION


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def pages(c, operation, key, **kwargs):
    """Every item of a paginated listing."""
    for page in c.get_paginator(operation).paginate(**kwargs):
        yield from page[key]


def unless_gone(call, default):
    """The call's result; `default` if its object vanished meanwhile (other
    tests share the same moto and delete their own objects)."""
    try:
        return call()
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if "NotFound" in code or code in ("NoSuchEntity", "ParameterNotFound", "ResourceNotFoundException", "ValidationException", "InvalidParameterException", "ClientException"):
            return default
        raise


def tag_dict(tags, key="Key", value="Value"):
    return {t[key]: t[value] for t in tags or []}


def owned(endpoint, stack, prefix=False):
    """Every live object carrying stackc:stack=stack (or a stack name that
    starts with it, with prefix)."""
    out = []

    def add(kind, ident, tags):
        tag = tags.get("stackc:stack")
        if tag == stack or (prefix and tag is not None and tag.startswith(stack)):
            out.append({"type": kind, "id": ident, "address": tags.get("stackc:address"), "stack": tag})

    ec2 = client("ec2", endpoint)
    for v in pages(ec2, "describe_vpcs", "Vpcs"):
        add("aws_vpc", v["VpcId"], tag_dict(v.get("Tags")))
    for s in pages(ec2, "describe_subnets", "Subnets"):
        add("aws_subnet", s["SubnetId"], tag_dict(s.get("Tags")))
    for g in pages(ec2, "describe_internet_gateways", "InternetGateways"):
        add("aws_internet_gateway", g["InternetGatewayId"], tag_dict(g.get("Tags")))
    for t in pages(ec2, "describe_route_tables", "RouteTables"):
        add("aws_route_table", t["RouteTableId"], tag_dict(t.get("Tags")))
    for g in pages(ec2, "describe_security_groups", "SecurityGroups"):
        add("aws_security_group", g["GroupId"], tag_dict(g.get("Tags")))
    for r in pages(ec2, "describe_instances", "Reservations"):
        for i in r["Instances"]:
            if i["State"]["Name"] not in ("terminated", "shutting-down"):
                add("aws_instance", i["InstanceId"], tag_dict(i.get("Tags")))
    for v in pages(ec2, "describe_volumes", "Volumes"):
        add("aws_ebs_volume", v["VolumeId"], tag_dict(v.get("Tags")))

    elb = client("elbv2", endpoint)
    arns = []
    for lb in pages(elb, "describe_load_balancers", "LoadBalancers"):
        arns.append(("aws_lb", lb["LoadBalancerArn"]))
        listeners = unless_gone(lambda: elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"], [])
        for listener in listeners:
            arns.append(("aws_lb_listener", listener["ListenerArn"]))
    for tg in pages(elb, "describe_target_groups", "TargetGroups"):
        arns.append(("aws_lb_target_group", tg["TargetGroupArn"]))
    for kind, arn in arns:
        described = unless_gone(lambda: elb.describe_tags(ResourceArns=[arn])["TagDescriptions"], [])
        add(kind, arn, tag_dict(described[0]["Tags"] if described else []))

    ecs = client("ecs", endpoint)
    cluster_arns = list(pages(ecs, "list_clusters", "clusterArns"))
    if cluster_arns:
        for c in unless_gone(lambda: ecs.describe_clusters(clusters=cluster_arns, include=["TAGS"])["clusters"], []):
            if c["status"] == "ACTIVE":
                add("aws_ecs_cluster", c["clusterArn"], tag_dict(c.get("tags"), "key", "value"))
            service_arns = unless_gone(lambda: list(pages(ecs, "list_services", "serviceArns", cluster=c["clusterArn"])), [])
            for i in range(0, len(service_arns), 10):
                chunk = service_arns[i : i + 10]
                services = unless_gone(lambda: ecs.describe_services(cluster=c["clusterArn"], services=chunk, include=["TAGS"])["services"], [])
                for s in services:
                    if s["status"] == "ACTIVE":
                        add("aws_ecs_service", s["serviceArn"], tag_dict(s.get("tags"), "key", "value"))
    for arn in pages(ecs, "list_task_definitions", "taskDefinitionArns", status="ACTIVE"):
        described = unless_gone(lambda: ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]), {})
        if described.get("taskDefinition", {}).get("status") == "ACTIVE":
            add("aws_ecs_task_definition", arn, tag_dict(described.get("tags"), "key", "value"))

    iam = client("iam", endpoint)
    for role in pages(iam, "list_roles", "Roles"):
        add("aws_iam_role", role["RoleName"], tag_dict(unless_gone(lambda: iam.list_role_tags(RoleName=role["RoleName"])["Tags"], [])))

    ssm = client("ssm", endpoint)
    for p in pages(ssm, "describe_parameters", "Parameters"):
        tags = unless_gone(lambda: ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=p["Name"])["TagList"], [])
        add("aws_ssm_parameter", p["Name"], tag_dict(tags))

    secrets = client("secretsmanager", endpoint)
    for s in pages(secrets, "list_secrets", "SecretList"):
        if not s.get("DeletedDate"):
            add("aws_secretsmanager_secret", s["ARN"], tag_dict(s.get("Tags")))
    return out


def shop(endpoint, stack, desired_count=4):
    problems = []
    objects = owned(endpoint, stack)
    by_type = {}
    for o in objects:
        by_type.setdefault(o["type"], []).append(o)

    ec2 = client("ec2", endpoint)
    instance_ids = [o["id"] for o in by_type.get("aws_instance", [])]
    volumes_by_instance = {}
    if len(instance_ids) != 3:
        problems.append(f"expected 3 instances, found {len(instance_ids)}")
    if instance_ids:
        for r in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]:
            for i in r["Instances"]:
                if i["State"]["Name"] != "running":
                    problems.append(f"instance {i['InstanceId']} is {i['State']['Name']}")
        owned_volumes = {o["id"] for o in by_type.get("aws_ebs_volume", [])}
        for v in pages(ec2, "describe_volumes", "Volumes"):
            if v["VolumeId"] not in owned_volumes:
                continue  # root volumes
            for a in v.get("Attachments", []):
                if a["InstanceId"] in instance_ids and a["State"] in ("attached", "attaching"):
                    volumes_by_instance.setdefault(a["InstanceId"], []).append(v["VolumeId"])
    attached = [v for vs in volumes_by_instance.values() for v in vs]
    if sorted(volumes_by_instance) != sorted(instance_ids) or len(set(attached)) != len(instance_ids):
        problems.append(f"each instance needs its own attached volume: {volumes_by_instance}")

    elb = client("elbv2", endpoint)
    lbs = by_type.get("aws_lb", [])
    groups = [o["id"] for o in by_type.get("aws_lb_target_group", [])]
    forwards = False
    for lb in lbs:
        described = elb.describe_load_balancers(LoadBalancerArns=[lb["id"]])["LoadBalancers"][0]
        if described["Type"] != "application":
            problems.append(f"load balancer {lb['id']} is {described['Type']}")
        for listener in elb.describe_listeners(LoadBalancerArn=lb["id"])["Listeners"]:
            for action in listener["DefaultActions"]:
                if action["Type"] == "forward" and action.get("TargetGroupArn") in groups:
                    forwards = True
    if len(lbs) != 1 or not forwards:
        problems.append(f"expected one ALB whose listener forwards to the target group (lbs {len(lbs)}, forwards {forwards})")

    ecs = client("ecs", endpoint)
    services = by_type.get("aws_ecs_service", [])
    counts = []
    for s in services:
        cluster = s["id"].split(":service/")[1].split("/")[0]
        described = ecs.describe_services(cluster=cluster, services=[s["id"]])["services"][0]
        counts.append(described["desiredCount"])
    if counts != [desired_count]:
        problems.append(f"expected one ECS service with desired count {desired_count}, found {counts}")

    secrets = client("secretsmanager", endpoint)
    secret_arns = [o["id"] for o in by_type.get("aws_secretsmanager_secret", [])]
    if len(secret_arns) < 1:
        problems.append("no secret")
    for arn in secret_arns:
        value = unless_gone(lambda: secrets.get_secret_value(SecretId=arn).get("SecretString"), None)
        if not value:
            problems.append(f"secret {arn} has no current value")
    ssm = client("ssm", endpoint)
    names = [o["id"] for o in by_type.get("aws_ssm_parameter", [])]
    if len(names) < 1:
        problems.append("no parameters")
    for name in names:
        if unless_gone(lambda: ssm.get_parameter(Name=name)["Parameter"].get("Value"), None) is None:
            problems.append(f"parameter {name} has no value")

    summary = {t: len(v) for t, v in sorted(by_type.items())}
    print(json.dumps({"objects": summary, "problems": problems}))
    return 1 if problems else 0


def listener(endpoint, arn):
    elb = client("elbv2", endpoint)
    found = elb.describe_listeners(ListenerArns=[arn])["Listeners"][0]
    forwards = [a for a in found["DefaultActions"] if a["Type"] == "forward"]
    if len(forwards) != 1:
        print(json.dumps({"error": f"expected one forward action, found {found['DefaultActions']}"}))
        return 1
    action = forwards[0]
    groups = action.get("ForwardConfig", {}).get("TargetGroups", [])
    if groups:
        weights = {g["TargetGroupArn"]: g.get("Weight") for g in groups}
    else:
        weights = {action["TargetGroupArn"]: None}
    print(json.dumps({"target_group_arn": action.get("TargetGroupArn"), "weights": weights}))
    return 0


def stop_target(endpoint, group_arn):
    elb = client("elbv2", endpoint)
    ec2 = client("ec2", endpoint)
    group = elb.describe_target_groups(TargetGroupArns=[group_arn])["TargetGroups"][0]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [group["VpcId"]]}])["Subnets"]
    started = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro", SubnetId=subnets[0]["SubnetId"]
    )["Instances"][0]["InstanceId"]
    elb.register_targets(TargetGroupArn=group_arn, Targets=[{"Id": started, "Port": group.get("Port", 80)}])
    ec2.stop_instances(InstanceIds=[started])
    print(json.dumps({"instance": started}))
    return 0


def service(endpoint, arn):
    ecs = client("ecs", endpoint)
    cluster = arn.split(":service/")[1].split("/")[0] if "/" in arn.split(":service/")[-1] else "default"
    found = unless_gone(lambda: ecs.describe_services(cluster=cluster, services=[arn])["services"], [])
    if not found:
        print(json.dumps({"status": "MISSING"}))
        return 0
    s = found[0]
    definition = unless_gone(lambda: ecs.describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"], {})
    print(
        json.dumps(
            {
                "status": s["status"],
                "desired": s["desiredCount"],
                "running": s["runningCount"],
                "task_definition": s["taskDefinition"],
                "images": [c["image"] for c in definition.get("containerDefinitions", [])],
            }
        )
    )
    return 0


def main():
    global REGION
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--desired-count", type=int, default=4)
    parser.add_argument("--prefix", action="store_true", help="owned: every stack whose name starts with STACK")
    parser.add_argument("command", choices=["owned", "shop", "terminate", "delete-listener", "tag", "attachment", "detach", "listener", "stop-target", "service"])
    parser.add_argument("stack", help="the stack name (owned, shop) or an object's id (the others)")
    parser.add_argument("tag", nargs="?", help="tag: KEY=VALUE")
    args = parser.parse_args()
    REGION = args.region
    if args.command == "terminate":
        client("ec2", args.endpoint).terminate_instances(InstanceIds=[args.stack])
        return 0
    if args.command == "delete-listener":
        client("elbv2", args.endpoint).delete_listener(ListenerArn=args.stack)
        return 0
    if args.command == "tag":
        key, value = args.tag.split("=", 1)
        client("ec2", args.endpoint).create_tags(Resources=[args.stack], Tags=[{"Key": key, "Value": value}])
        return 0
    if args.command == "detach":
        ec2 = client("ec2", args.endpoint)
        volume = ec2.describe_volumes(VolumeIds=[args.stack])["Volumes"][0]
        for attachment in volume["Attachments"]:
            ec2.detach_volume(VolumeId=args.stack, InstanceId=attachment["InstanceId"], Device=attachment["Device"])
        return 0
    if args.command == "attachment":
        found = client("ec2", args.endpoint).describe_volumes(
            Filters=[{"Name": "attachment.instance-id", "Values": [args.stack]}]
        )["Volumes"]
        ec2 = client("ec2", args.endpoint)
        reservations = ec2.describe_instances(InstanceIds=[args.stack])["Reservations"]
        root = reservations[0]["Instances"][0].get("RootDeviceName", "/dev/sda1")
        data = [
            v["VolumeId"]
            for v in found
            if not any(a["InstanceId"] == args.stack and a.get("Device") == root for a in v["Attachments"])
        ]
        print(json.dumps(sorted(data)))
        return 0
    if args.command == "listener":
        return listener(args.endpoint, args.stack)
    if args.command == "stop-target":
        return stop_target(args.endpoint, args.stack)
    if args.command == "service":
        return service(args.endpoint, args.stack)
    if args.command == "owned":
        for o in owned(args.endpoint, args.stack, args.prefix):
            print(json.dumps(o))
        return 0
    return shop(args.endpoint, args.stack, args.desired_count)


if __name__ == "__main__":
    sys.exit(main())
