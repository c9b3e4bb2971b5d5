//! template.yaml: lint-clean, and in step with the provider table.

use integration_tests::root;
use webhook_intake::Provider;

#[test]
fn cfn_lint_passes() {
    let output = std::process::Command::new("cfn-lint")
        .arg("template.yaml")
        .current_dir(root())
        .output()
        .expect("cfn-lint is not on PATH: run the tests with scripts/test.sh, which installs it");
    assert!(
        output.status.success(),
        "cfn-lint failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn routes_binaries_and_secret_scopes_match_the_provider_table() {
    let template = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    for provider in Provider::ALL {
        let rules = provider.rules();
        assert!(template.contains(&format!("Path: {}", rules.route)), "route {}", rules.route);
        assert!(template.contains(&format!("Binary: {}-webhook", rules.name)), "binary for {}", rules.name);
        assert!(
            template.contains(&format!("secret:${{SecretPrefix}}/{}/*", rules.name)),
            "secret scope for {}",
            rules.name
        );
    }
    assert!(template.contains("MaximumMessageSize: 1048576"));
}
