//! Links into the AWS console for what a report names (the service, the target group, the
//! alarm, the image), so the person reading it at 3 a.m. is one click from the resource.

/// Percent-encodes all but RFC 3986's unreserved characters (and `/` when `keep_slash`).
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn console(region: &str) -> String {
    format!("https://{}.console.aws.amazon.com", encode(region, false))
}

pub fn service(region: &str, cluster: &str, service: &str) -> String {
    format!(
        "{}/ecs/v2/clusters/{}/services/{}/health?region={}",
        console(region),
        encode(cluster, false),
        encode(service, false),
        encode(region, false)
    )
}

pub fn target_group(region: &str, arn: &str) -> String {
    format!(
        "{}/ec2/home?region={}#TargetGroup:targetGroupArn={}",
        console(region),
        encode(region, false),
        encode(arn, false)
    )
}

pub fn alarm(region: &str, name: &str) -> String {
    format!(
        "{}/cloudwatch/home?region={}#alarmsV2:alarm/{}",
        console(region),
        encode(region, false),
        encode(name, false)
    )
}

/// An image by digest in its private ECR repository.
pub fn image(region: &str, registry: &str, repository: &str, digest: &str) -> String {
    format!(
        "{}/ecr/repositories/private/{}/{}/_/image/{}/details?region={}",
        console(region),
        encode(registry, false),
        encode(repository, true),
        encode(digest, false),
        encode(region, false)
    )
}

/// One log stream of a CloudWatch Logs group. The console's fragment takes each name
/// percent-encoded, with `%` itself written `$25` (so `/` is `$252F`).
pub fn log_stream(region: &str, group: &str, stream: &str) -> String {
    let fragment = |s: &str| encode(s, false).replace('%', "$25");
    format!(
        "{}/cloudwatch/home?region={}#logsV2:log-groups/log-group/{}/log-events/{}",
        console(region),
        encode(region, false),
        fragment(group),
        fragment(stream)
    )
}

/// The short name of a target group from its ARN (`…:targetgroup/NAME/ID`).
pub fn target_group_name(arn: &str) -> &str {
    arn.split_once(":targetgroup/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or(arn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_the_resource_and_encode_what_could_break_them() {
        assert_eq!(
            service("eu-west-1", "shop-prod", "web-green"),
            "https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/shop-prod/services/web-green/health?region=eu-west-1"
        );
        assert_eq!(
            log_stream("us-east-1", "/ecs/web", "ecs/app/abc123"),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/$252Fecs$252Fweb/log-events/ecs$252Fapp$252Fabc123"
        );
        let tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green-shop/73e2d6bc24d8a067";
        assert_eq!(target_group_name(tg), "green-shop");
        assert!(target_group("us-east-1", tg).ends_with("#TargetGroup:targetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A123456789012%3Atargetgroup%2Fgreen-shop%2F73e2d6bc24d8a067"));
        assert!(alarm("us-east-1", "prod web 5xx)").ends_with("#alarmsV2:alarm/prod%20web%205xx%29"));
        assert_eq!(
            image("us-east-1", "123456789012", "shop/web", "sha256:ab"),
            "https://us-east-1.console.aws.amazon.com/ecr/repositories/private/123456789012/shop/web/_/image/sha256%3Aab/details?region=us-east-1"
        );
    }
}
