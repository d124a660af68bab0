use crate::security::selftest;

#[test]
fn every_corpus_line_behaves_as_labelled() {
    let report = selftest::run();
    println!("{report}");
    assert!(report.all_passed(), "{report}");
}

#[test]
fn every_rule_engine_compiles() {
    assert_eq!(crate::security::secrets::engine_error(), None);
}
