//! XML responses of the query protocol, read with quick-xml's serde support
//! into the typed response structs of each service module.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use stackc_providers::ProviderError;

/// An EC2 list: `<vpcSet><item>...</item><item>...</item></vpcSet>`.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub struct Items<T> {
    #[serde(default = "Vec::new", rename = "item")]
    pub items: Vec<T>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items { items: Vec::new() }
    }
}

/// An ELBv2 / IAM list: `<LoadBalancers><member>...</member></LoadBalancers>`.
#[derive(Debug, Deserialize)]
#[serde(bound = "T: Deserialize<'de>")]
pub struct Members<T> {
    #[serde(default = "Vec::new", rename = "member")]
    pub members: Vec<T>,
}

impl<T> Default for Members<T> {
    fn default() -> Self {
        Members { members: Vec::new() }
    }
}

/// EC2 `<tagSet><item><key/><value/></item></tagSet>`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Ec2Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// ELBv2 / IAM `<Tags><member><Key/><Value/></member></Tags>`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct QueryTag {
    #[serde(rename = "Key", default)]
    pub key: String,
    #[serde(rename = "Value", default)]
    pub value: String,
}

fn unreadable(action: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError {
        code: Some("UnreadableResponse".into()),
        message: format!("{action}: unreadable response: {e}"),
        retryable: false,
    }
}

/// The whole document (EC2 responses put their fields under the root).
pub fn whole<T: DeserializeOwned>(body: &str, action: &str) -> Result<T, ProviderError> {
    quick_xml::de::from_str(body).map_err(|e| unreadable(action, e))
}

/// The `<{action}Result>` element of an ELBv2 / IAM response; an absent or
/// empty one gives `T::default()`.
pub fn result_element<T: DeserializeOwned + Default>(body: &str, action: &str) -> Result<T, ProviderError> {
    let open = format!("<{action}Result>");
    let close = format!("</{action}Result>");
    let Some(start) = body.find(&open) else {
        return Ok(T::default());
    };
    let Some(end) = body[start..].find(&close) else {
        return Err(unreadable(action, "unterminated result element"));
    };
    let element = &body[start..start + end + close.len()];
    quick_xml::de::from_str(element).map_err(|e| unreadable(action, e))
}

/// The first `<Code>` and `<Message>` of an error document (EC2's
/// `<Response><Errors><Error>` and ELBv2/IAM's `<ErrorResponse><Error>`).
pub fn error_code_and_message(body: &str) -> (Option<String>, String) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(body);
    let mut code = None;
    let mut message = None;
    let mut current: Option<&'static str> = None;
    let mut buffer = String::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(start)) => {
                buffer.clear();
                current = match start.local_name().as_ref() {
                    b"Code" => Some("code"),
                    b"Message" => Some("message"),
                    _ => None,
                }
            }
            Ok(Event::Text(text)) => {
                let text = text.decode().map(|t| t.into_owned()).unwrap_or_default();
                buffer.push_str(&text);
            }
            Ok(Event::GeneralRef(reference)) => {
                let name = reference.decode().map(|t| t.into_owned()).unwrap_or_default();
                match quick_xml::escape::resolve_xml_entity(&name) {
                    Some(resolved) => buffer.push_str(resolved),
                    None => {
                        if let Ok(Some(c)) = reference.resolve_char_ref() {
                            buffer.push(c);
                        }
                    }
                }
            }
            Ok(Event::End(_)) => {
                let text = std::mem::take(&mut buffer);
                match current {
                    Some("code") if code.is_none() => code = Some(text),
                    Some("message") if message.is_none() => message = Some(text),
                    _ => {}
                }
                current = None;
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        if code.is_some() && message.is_some() {
            break;
        }
    }
    (code, message.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    struct Vpc {
        #[serde(rename = "vpcId")]
        vpc_id: String,
        #[serde(rename = "tagSet", default)]
        tags: Items<Ec2Tag>,
    }

    #[derive(Debug, Deserialize)]
    struct DescribeVpcs {
        #[serde(rename = "vpcSet", default)]
        vpcs: Items<Vpc>,
    }

    #[test]
    fn ec2_item_lists_and_empty_sets() {
        let body = r#"<?xml version="1.0"?><DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
            <requestId>r</requestId><vpcSet><item><vpcId>vpc-1</vpcId><tagSet><item><key>a</key><value>b</value></item></tagSet></item>
            <item><vpcId>vpc-2</vpcId><tagSet/></item></vpcSet></DescribeVpcsResponse>"#;
        let parsed: DescribeVpcs = whole(body, "DescribeVpcs").unwrap();
        assert_eq!(parsed.vpcs.items.len(), 2);
        assert_eq!(parsed.vpcs.items[0].vpc_id, "vpc-1");
        assert_eq!(parsed.vpcs.items[0].tags.items[0].value, "b");
        assert!(parsed.vpcs.items[1].tags.items.is_empty());
        let empty: DescribeVpcs =
            whole("<DescribeVpcsResponse><vpcSet/></DescribeVpcsResponse>", "x").unwrap();
        assert!(empty.vpcs.items.is_empty());
    }

    #[test]
    fn error_documents_of_both_styles() {
        let ec2 = "<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>The vpc &apos;x&apos; does not exist</Message></Error></Errors></Response>";
        assert_eq!(
            error_code_and_message(ec2),
            (Some("InvalidVpcID.NotFound".into()), "The vpc 'x' does not exist".into())
        );
        let elb = "<ErrorResponse><Error><Type>Sender</Type><Code>LoadBalancerNotFound</Code><Message>gone</Message></Error></ErrorResponse>";
        assert_eq!(error_code_and_message(elb), (Some("LoadBalancerNotFound".into()), "gone".into()));
        assert_eq!(error_code_and_message("not xml <"), (None, String::new()));
    }

    #[derive(Debug, Default, Deserialize)]
    struct Lbs {
        #[serde(rename = "LoadBalancers", default)]
        lbs: Members<Lb>,
    }
    #[derive(Debug, Default, Deserialize)]
    struct Lb {
        #[serde(rename = "LoadBalancerArn")]
        arn: String,
    }

    #[test]
    fn query_result_element() {
        let body = "<DescribeLoadBalancersResponse><DescribeLoadBalancersResult><LoadBalancers><member><LoadBalancerArn>arn:1</LoadBalancerArn></member></LoadBalancers></DescribeLoadBalancersResult><ResponseMetadata/></DescribeLoadBalancersResponse>";
        let parsed: Lbs = result_element(body, "DescribeLoadBalancers").unwrap();
        assert_eq!(parsed.lbs.members[0].arn, "arn:1");
        let none: Lbs = result_element("<X/>", "DescribeLoadBalancers").unwrap();
        assert!(none.lbs.members.is_empty());
    }
}
