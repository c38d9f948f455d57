//! Issue 10 item 11: invalid values (OpenAPI constraints, CEL rules and
//! the validation upstream does in code) found at file:line.

use super::*;

/// The seven values of issue 10 item 11, one object per kind; the line of
/// each offending value is its index in this list plus one.
const SEVEN: &[&str] = &[
    "apiVersion: argoproj.io/v1alpha1", // 1
    "kind: Rollout",
    "metadata: {name: web}",
    "spec:",
    "  replicas: -1", // 5
    "  selector: {matchLabels: {app: web}}",
    "  template:",
    "    metadata: {labels: {app: web}}",
    "    spec: {containers: [{name: web, image: nginx}]}",
    "  strategy:", // 10
    "    canary:",
    "      steps:",
    "        - setWeight: 20",
    "        - pause: {duration: abc}", // 14
    "---",
    "apiVersion: networking.istio.io/v1",
    "kind: DestinationRule",
    "metadata:",
    "  name: ''", // 19
    "spec:",
    "  host: web",
    "  trafficPolicy:",
    "    outlierDetection:",
    "      interval: garbage", // 24
    "      maxEjectionPercent: 1000",
    "      consecutive5xxErrors: -1", // 26
    "---",
    "apiVersion: networking.istio.io/v1",
    "kind: VirtualService",
    "metadata: {name: web}", // 30
    "spec:",
    "  hosts: [web]",
    "  http:",
    "    - route:",
    "        - destination: {host: web}", // 35
    "          weight: -50",
    "        - destination: {host: web}",
    "          weight: 150",
];

/// `(rule, line)` of each finding, ZC4000 (the skipped-schema note) left out.
fn codes_and_lines(findings: &[Finding]) -> Vec<(&'static str, u32)> {
    findings
        .iter()
        .filter(|f| f.rule.id != "ZC4000")
        .map(|f| (f.rule.id, f.loc.pos.line))
        .collect()
}

/// issue 10 item 11: the seven values of the issue are caught with
/// `--crds none`, by the validation Kubernetes, Argo Rollouts and Istio do
/// in code (apimachinery objectmeta.go, argo-rollouts validation.go and
/// types.go `DurationSeconds`, istio validation.go `validateWeight` and
/// `validateOutlierDetection`).
#[test]
fn issue10_item11_the_seven_values_are_caught_without_crds() {
    let findings = check(None, &yaml(SEVEN));
    assert_eq!(
        codes_and_lines(&findings),
        [
            ("ZC4009", 5),
            ("ZC4009", 14),
            ("ZC4009", 19),
            ("ZC4009", 24),
            ("ZC4009", 25),
            ("ZC4009", 26),
            ("ZC4009", 36),
        ],
        "{findings:#?}"
    );
    let text = |line: u32| {
        findings
            .iter()
            .find(|f| f.loc.pos.line == line)
            .map(|f| f.message.as_str())
            .unwrap()
    };
    assert!(text(5).contains("spec.replicas is -1"), "{}", text(5));
    assert!(text(14).contains("\"abc\", not a duration"), "{}", text(14));
    assert!(text(19).contains("metadata.name is empty"), "{}", text(19));
    assert!(text(25).contains("percentage 1000 is not in range 0..100"));
    assert!(text(36).contains("weight -50 < 0"), "{}", text(36));
}

/// issue 10 item 11: with the pinned CRDs, the CRD's own constraint or CEL
/// rule reports what it covers (DestinationRule `interval` by the CEL rule
/// `duration(self) >= duration('1ms')`, `consecutive5xxErrors` by
/// `minimum: 0`), and the code validation is not repeated on that line.
#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn issue10_item11_the_seven_values_are_caught_with_the_real_crds() {
    let findings = check(Some(real()), &yaml(SEVEN));
    assert_eq!(
        codes_and_lines(&findings),
        [
            ("ZC4009", 5),
            ("ZC4009", 14),
            ("ZC4009", 19),
            ("ZC4007", 24),
            ("ZC4009", 25),
            ("ZC4006", 26),
            ("ZC4009", 36),
        ],
        "{findings:#?}"
    );
    let interval = &findings[3];
    assert!(
        interval
            .message
            .contains("must be a valid duration greater than 1ms"),
        "the CRD's message: {}",
        interval.message
    );
    assert!(findings[5].message.contains("at least 0 (minimum)"));
}

/// issue 10 item 11: valid values of the same fields give no finding.
#[test]
fn issue10_item11_valid_values_pass() {
    let good = yaml(SEVEN)
        .replace("replicas: -1", "replicas: 0")
        .replace("duration: abc", "duration: 1m30s")
        .replace("name: ''", "name: web")
        .replace("garbage", "10s")
        .replace("1000", "100")
        .replace("Errors: -1", "Errors: 0")
        .replace("weight: -50", "weight: 50");
    assert_eq!(codes_and_lines(&check(None, &good)), []);
    let mut pause = yaml(SEVEN).replace("replicas: -1", "replicas: 1");
    for ok in ["30", "\"30\"", "30s"] {
        pause = pause.replace("duration: abc", &format!("duration: {ok}"));
        let f = check(None, &pause);
        assert!(
            !codes_and_lines(&f).contains(&("ZC4009", 14)),
            "{ok}: {f:#?}"
        );
        pause = pause.replace(&format!("duration: {ok}"), "duration: abc");
    }
}

/// issue 10 item 11: names that are not DNS-1123 subdomains (or, for a
/// Service, DNS-1035 labels) are refused (apimachinery objectmeta.go
/// `NameIsDNSSubdomain`, core validation `ValidateServiceName`).
#[test]
fn issue10_item11_invalid_names_are_caught() {
    let text = yaml(&[
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata: {name: Bad_Name}",
        "spec: {replicas: 1}",
        "---",
        "apiVersion: v1",
        "kind: Service",
        "metadata: {name: 1web}",
        "spec: {ports: [{port: 80}]}",
        "---",
        "apiVersion: v1",
        "kind: Service",
        "metadata: {name: web}",
    ]);
    let findings = check(None, &text);
    assert_eq!(codes_and_lines(&findings), [("ZC4009", 3), ("ZC4009", 8)]);
    assert!(
        findings[0].hint.contains("\"bad-name\""),
        "{}",
        findings[0].hint
    );
    assert!(
        findings[1].message.contains("DNS-1035"),
        "{}",
        findings[1].message
    );
}

const BOUNDED_CRD: &str = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gauges.example.com}
spec:
  group: example.com
  names: {kind: Gauge, plural: gauges}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-validations:
                - rule: '!has(self.low) || !has(self.high) || self.low <= self.high'
                  messageExpression: \"'low ' + string(self.low) + ' is above high ' + string(self.high)\"
                  fieldPath: .low
                - rule: self.low == oldSelf.low
                  message: low is immutable
              properties:
                low: {type: integer, minimum: 0}
                high: {type: integer, maximum: 10, exclusiveMaximum: true}
                name: {type: string, minLength: 1, maxLength: 5, pattern: '^[a-z]+$'}
                when: {type: string, format: date-time}
                count: {type: integer, format: int32}
                tags: {type: array, maxItems: 1, items: {type: string}}
                home:
                  type: string
                  x-kubernetes-validations:
                    - rule: isURL(self)
                      message: home must be a URL
";

/// `head` then `body`, as one YAML text.
fn joined(head: &[&str], body: &[&str]) -> String {
    yaml(&[head, body].concat())
}

fn gauge(spec: &[&str]) -> String {
    let head = [
        "apiVersion: example.com/v1",
        "kind: Gauge",
        "metadata: {name: g}",
        "spec:",
    ];
    joined(&head, spec)
}

/// issue 10 item 11: OpenAPI minimum/maximum (exclusive), min/maxLength,
/// pattern, format and maxItems are enforced at the value's line.
#[test]
fn issue10_item11_openapi_constraints_at_the_value() {
    let s = schemas_from(BOUNDED_CRD);
    let findings = check(
        Some(&s),
        &gauge(&[
            "  low: 0",
            "  high: 10",          // 6
            "  name: Abcdef",      // 7
            "  when: yesterday",   // 8
            "  count: 3000000000", // 9
            "  tags: [a, b]",      // 10
        ]),
    );
    let got: Vec<(&str, u32, &str)> = summary(&findings);
    assert_eq!(
        got.iter().map(|(r, l, _)| (*r, *l)).collect::<Vec<_>>(),
        [
            ("ZC4006", 6),
            ("ZC4006", 7),
            ("ZC4006", 7),
            ("ZC4006", 8),
            ("ZC4006", 9),
            ("ZC4006", 10),
        ],
        "{findings:#?}"
    );
    assert!(got[0].2.contains("less than 10 (maximum)"), "{}", got[0].2);
    assert!(got.iter().any(|f| f.2.contains("at most 5 (maxLength)")));
    assert!(got.iter().any(|f| f.2.contains("pattern ^[a-z]+$")));
    assert!(got[3].2.contains("not a valid date-time"), "{}", got[3].2);
    assert!(got[4].2.contains("format int32"), "{}", got[4].2);
    assert!(got[5].2.contains("at most 1"), "{}", got[5].2);
    let clean = check(
        Some(&s),
        &gauge(&[
            "  low: 1",
            "  high: 9",
            "  name: abc",
            "  when: 2026-01-02T03:04:05Z",
            "  count: 7",
            "  tags: [a]",
        ]),
    );
    assert_eq!(summary(&clean), []);
}

/// issue 10 item 11: a CEL rule false for the object is reported with its
/// messageExpression at its fieldPath; the transition rule beside it
/// (`oldSelf`) is skipped, not evaluated (evaluating it would fail: there
/// is no old object on create).
#[test]
fn issue10_item11_cel_message_expression_field_path_and_transition_rule() {
    let s = schemas_from(BOUNDED_CRD);
    let findings = check(Some(&s), &gauge(&["  low: 7", "  high: 3"]));
    assert_eq!(summary(&findings).len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!((f.rule.id, f.loc.pos.line), ("ZC4007", 5), "at spec.low");
    assert!(
        f.message
            .contains("spec.low: Invalid value: low 7 is above high 3"),
        "{}",
        f.message
    );
    assert_eq!(check(Some(&s), &gauge(&["  low: 1", "  high: 3"])), []);
    let counts = s.cel_counts();
    assert_eq!(
        (
            counts.total,
            counts.ready,
            counts.transition,
            counts.unsupported
        ),
        (3, 1, 1, 1)
    );
}

/// issue 10 item 11: a rule using a Kubernetes CEL function the
/// interpreter lacks (`isURL`) is reported once per run as skipped, not
/// once per object and never as passed.
#[test]
fn issue10_item11_unsupported_cel_rule_is_reported_once() {
    let s = schemas_from(BOUNDED_CRD);
    let mut text = gauge(&["  home: x"]);
    text.push_str("---\n");
    text.push_str(&gauge(&["  home: y"]).replace("name: g", "name: h"));
    let findings = check(Some(&s), &text);
    assert_eq!(
        findings
            .iter()
            .map(|f| (f.rule.id, f.loc.pos.line))
            .collect::<Vec<_>>(),
        [("ZC4008", 5)],
        "{findings:#?}"
    );
    assert!(
        findings[0].message.contains("`isURL`"),
        "{}",
        findings[0].message
    );
}

fn service_entry(ports: &[&str]) -> String {
    let head = [
        "apiVersion: networking.istio.io/v1",
        "kind: ServiceEntry",
        "metadata: {name: ext}",
        "spec:",
        "  hosts: [ext.example.com]",
        "  resolution: DNS",
        "  ports:",
    ];
    joined(&head, ports)
}

/// issue 10 item 11: real Istio 1.30.3 CRD rules (ServiceEntry
/// `self.all(l1, self.exists_one(l2, l1.number == l2.number))` and
/// `0 < self && self <= 65535` on targetPort, customresourcedefinitions.gen.yaml)
/// evaluate true on a valid object and false on a broken one.
#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn issue10_item11_real_istio_cel_rules_hold_and_fail() {
    let good = service_entry(&[
        "    - {number: 80, name: http, protocol: HTTP, targetPort: 8080}",
        "    - {number: 443, name: https, protocol: HTTPS}",
    ]);
    assert_eq!(summary(&check(Some(real()), &good)), []);
    let bad = service_entry(&[
        "    - {number: 80, name: http, protocol: HTTP, targetPort: 70000}",
        "    - {number: 80, name: http2, protocol: HTTP}",
    ]);
    let findings = check(Some(real()), &bad);
    let got = summary(&findings);
    assert_eq!(
        got.iter().map(|(r, l, _)| (*r, *l)).collect::<Vec<_>>(),
        [("ZC4007", 8), ("ZC4007", 8)],
        "{findings:#?}"
    );
    assert!(
        got.iter()
            .any(|f| f.2.contains("port number cannot be duplicated")),
        "{got:?}"
    );
    assert!(
        got.iter()
            .any(|f| f.2.contains("port must be between 1-65535")),
        "{got:?}"
    );
}

/// issue 10 item 11: the Rollout CRD's `self == oldSelf` on spec.selector
/// (argo-rollouts v1.9.1 rollout-crd.yaml) is a transition rule: skipped
/// on create, so a valid Rollout gets no finding from it.
#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn issue10_item11_real_transition_rule_is_skipped() {
    let text = yaml(&SEVEN[..14])
        .replace("replicas: -1", "replicas: 1")
        .replace("duration: abc", "duration: 10s");
    assert_eq!(summary(&check(Some(real()), &text)), []);
    assert!(real().cel_counts().transition >= 1);
}

/// issue 10 item 11: how many CEL rules of the pinned CRDs compile; the
/// figure is in README.md. Every rule is accounted for.
#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn issue10_item11_cel_rules_of_the_pinned_crds_are_counted() {
    let istio = CrdSchemas::load(&Path::new(CRDS).join("istio-1.30.3")).unwrap();
    let i = istio.cel_counts();
    eprintln!("CEL rules of the Istio CRDs (every served version): {i:?}");
    assert_eq!(i.total, i.ready + i.transition + i.unsupported);
    let c = real().cel_counts();
    eprintln!("CEL rules of the pinned CRDs: {c:?}");
    assert_eq!(c.total, c.ready + c.transition + c.unsupported);
    assert!(c.ready * 10 > c.total * 9, "most rules compile: {c:?}");
    assert!(c.unsupported >= 1, "url() rules are unsupported: {c:?}");
}

/// issue 10 item 11: the WorkloadEntry address rules of the Istio 1.30.3
/// CRDs (`self.startsWith("unix://") ? (self.substring(7, 8) == "/" || ...)`,
/// customresourcedefinitions.gen.yaml) need the strings extension: they
/// hold for an absolute socket path and fail for a relative directory.
#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn issue10_item11_real_istio_string_extension_rules() {
    let entry = |address: &str| {
        yaml(&[
            "apiVersion: networking.istio.io/v1",
            "kind: WorkloadEntry",
            "metadata: {name: we}",
            "spec:",
            &format!("  address: {address}"),
        ])
    };
    assert_eq!(
        summary(&check(Some(real()), &entry("unix:///var/run/a.sock"))),
        []
    );
    let findings = check(Some(real()), &entry("unix://run/"));
    let got = summary(&findings);
    assert_eq!(
        got.iter().map(|(r, l, _)| (*r, *l)).collect::<Vec<_>>(),
        [("ZC4007", 5), ("ZC4007", 5)],
        "{findings:#?}"
    );
    assert!(
        got.iter()
            .any(|f| f.2.contains("UDS must be an absolute path"))
    );
    assert!(got.iter().any(|f| f.2.contains("UDS may not be a dir")));
}
