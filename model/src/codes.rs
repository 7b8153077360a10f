//! The registry of diagnostic codes.
//!
//! Invariant: a code, once published, keeps its meaning. Every code has a
//! page in `docs/codes/<CODE>.md` (what it means, why, an example, how to
//! fix), shown by `stackc explain CODE`; a test checks that each one exists
//! and has those sections. To add a code: one line here and one page.

use crate::diagnostic::Severity;

macro_rules! codes {
    ($( $name:ident = $code:literal, $severity:ident, $summary:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types)]
        pub enum Code { $( $name, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$name, )* ];

            /// The stable code, e.g. `E0203`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$name => $code, )* }
            }

            /// Short, fixed text ("Unknown attribute").
            pub fn summary(self) -> &'static str {
                match self { $( Code::$name => $summary, )* }
            }

            pub fn severity(self) -> Severity {
                match self { $( Code::$name => Severity::$severity, )* }
            }

            /// The explanation page (Markdown).
            pub fn page(self) -> &'static str {
                match self { $( Code::$name => include_str!(concat!("../../docs/codes/", $code, ".md")), )* }
            }

            /// True for codes only planning and applying report (E06xx):
            /// `stackc check` never reports them.
            pub fn is_plan_time(self) -> bool {
                self.as_str().starts_with("E06")
            }

            pub fn parse(code: &str) -> Option<Code> {
                let code = code.trim().to_ascii_uppercase();
                Code::ALL.iter().copied().find(|c| c.as_str() == code)
            }
        }
    };
}

codes! {
    // Syntax and structure: E01xx
    SyntaxError = "E0101", Error, "Syntax error";
    NestingTooDeep = "E0102", Error, "Nesting too deep";
    NoStackFiles = "E0103", Error, "No stack files";
    UnknownBlock = "E0104", Error, "Unknown block type";
    WrongLabels = "E0105", Error, "Wrong number of block labels";
    UnexpectedAttribute = "E0106", Error, "Unexpected attribute";
    UnexpectedBlock = "E0107", Error, "Unexpected block";
    DuplicateAttribute = "E0108", Error, "Duplicate attribute";
    InvalidName = "E0109", Error, "Invalid name";
    // Names and references: E02xx
    UnknownReference = "E0201", Error, "Unknown reference";
    DuplicateDeclaration = "E0202", Error, "Duplicate declaration";
    UnknownParameter = "E0203", Error, "Unknown parameter";
    ReferenceCycle = "E0204", Error, "Reference cycle";
    UnknownComponent = "E0205", Error, "Unknown component";
    UnknownOutput = "E0206", Error, "Unknown output";
    UnknownFunction = "E0207", Error, "Unknown function";
    ParamOutsideComponent = "E0208", Error, "`param` outside a component";
    InvalidReference = "E0209", Error, "Invalid reference";
    // Types and values: E03xx
    TypeMismatch = "E0301", Error, "Type mismatch";
    MissingRequired = "E0302", Error, "Missing required value";
    InvalidQuantity = "E0303", Error, "Invalid quantity";
    InvalidDuration = "E0304", Error, "Invalid duration";
    InvalidPort = "E0305", Error, "Invalid port";
    WrongReferenceKind = "E0306", Error, "Wrong kind of reference";
    InvalidTypeExpression = "E0307", Error, "Invalid type expression";
    InvalidOperand = "E0308", Error, "Invalid operand";
    WrongArgumentCount = "E0309", Error, "Wrong number of arguments";
    InvalidIndex = "E0310", Error, "Invalid index or attribute access";
    ValidationFailed = "E0311", Error, "Validation failed";
    InvalidDefault = "E0312", Error, "Invalid default value";
    FunctionError = "E0313", Error, "Function call failed";
    ConditionNotBool = "E0314", Error, "Condition is not a bool";
    VariableNotSet = "E0315", Error, "Variable has no value";
    InvalidVariableValue = "E0316", Error, "Invalid variable value";
    DuplicateKey = "E0317", Error, "Duplicate object key";
    // Sensitive values: E04xx
    SensitiveToOutput = "E0401", Error, "Sensitive value in a plain output";
    SensitiveToPlain = "E0402", Error, "Sensitive value in a plain value";
    // Targets and expansion: E05xx
    UnsupportedOnTarget = "E0501", Error, "Construct not supported on target";
    UnknownTarget = "E0502", Error, "Unknown target";
    UnknownResourceType = "E0503", Error, "Unknown resource type";
    UnknownResourceAttribute = "E0504", Error, "Unknown resource attribute";
    ComputedAttributeSet = "E0505", Error, "Computed attribute set";
    TargetRequired = "E0506", Error, "Target required";
    RepetitionUnknown = "E0507", Error, "Repetition known only after apply";
    TargetSettingRequired = "E0508", Error, "Target setting required";
    // Plan and apply (reported by `plan`, `apply`, `destroy`, `import`; not by `check`): E06xx
    ProviderRejected = "E0601", Error, "Provider rejected the configuration";
    RefreshFailed = "E0602", Error, "Reading an object failed";
    OperationFailed = "E0603", Error, "Operation failed";
    RolledBack = "E0604", Error, "Rollout rolled back";
    RolloutPolicyInvalid = "E0605", Error, "Rollout policy cannot be used";
    // Warnings: W0xxx
    UnusedVariable = "W0001", Warning, "Unused variable";
    UnusedLocal = "W0002", Warning, "Unused local value";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
