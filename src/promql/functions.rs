//! The function signature table: every PromQL function's name, argument types, variadic
//! count and return type, as Prometheus 3.x's parser declares them.
//!
//! This table is what the parser checks calls against; the implementations live in
//! [`super::call`] and are matched on the same enum, so a function cannot be declared
//! without being implemented (the match is exhaustive).

use super::ast::ValueType;

macro_rules! functions {
    ($( $variant:ident = $name:literal : [$($arg:ident),*] $(variadic $var:literal)? -> $ret:ident ),* $(,)?) => {
        /// Every function the parser knows.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Function { $($variant),* }

        const ALL: &[Function] = &[$(Function::$variant),*];

        impl Function {
            pub fn name(self) -> &'static str {
                match self { $(Function::$variant => $name),* }
            }

            pub fn signature(self) -> Signature {
                match self {
                    $(Function::$variant => Signature {
                        args: &[$(ValueType::$arg),*],
                        variadic: 0 $(+ $var)?,
                        ret: ValueType::$ret,
                    }),*
                }
            }
        }
    };
}

/// Argument types, how many optional trailing arguments of the last type may follow
/// (`-1`: any number), and the return type.
#[derive(Clone, Copy, Debug)]
pub struct Signature {
    pub args: &'static [ValueType],
    pub variadic: i32,
    pub ret: ValueType,
}

functions! {
    Abs = "abs": [Vector] -> Vector,
    Absent = "absent": [Vector] -> Vector,
    AbsentOverTime = "absent_over_time": [Matrix] -> Vector,
    Acos = "acos": [Vector] -> Vector,
    Acosh = "acosh": [Vector] -> Vector,
    Asin = "asin": [Vector] -> Vector,
    Asinh = "asinh": [Vector] -> Vector,
    Atan = "atan": [Vector] -> Vector,
    Atanh = "atanh": [Vector] -> Vector,
    AvgOverTime = "avg_over_time": [Matrix] -> Vector,
    Ceil = "ceil": [Vector] -> Vector,
    Changes = "changes": [Matrix] -> Vector,
    Clamp = "clamp": [Vector, Scalar, Scalar] -> Vector,
    ClampMax = "clamp_max": [Vector, Scalar] -> Vector,
    ClampMin = "clamp_min": [Vector, Scalar] -> Vector,
    Cos = "cos": [Vector] -> Vector,
    Cosh = "cosh": [Vector] -> Vector,
    CountOverTime = "count_over_time": [Matrix] -> Vector,
    DaysInMonth = "days_in_month": [Vector] variadic 1 -> Vector,
    DayOfMonth = "day_of_month": [Vector] variadic 1 -> Vector,
    DayOfWeek = "day_of_week": [Vector] variadic 1 -> Vector,
    DayOfYear = "day_of_year": [Vector] variadic 1 -> Vector,
    Deg = "deg": [Vector] -> Vector,
    End = "end": [] -> Scalar,
    Delta = "delta": [Matrix] -> Vector,
    Deriv = "deriv": [Matrix] -> Vector,
    Exp = "exp": [Vector] -> Vector,
    FirstOverTime = "first_over_time": [Matrix] -> Vector,
    Floor = "floor": [Vector] -> Vector,
    HistogramAvg = "histogram_avg": [Vector] -> Vector,
    HistogramCount = "histogram_count": [Vector] -> Vector,
    HistogramSum = "histogram_sum": [Vector] -> Vector,
    HistogramStddev = "histogram_stddev": [Vector] -> Vector,
    HistogramStdvar = "histogram_stdvar": [Vector] -> Vector,
    HistogramFraction = "histogram_fraction": [Scalar, Scalar, Vector] -> Vector,
    HistogramQuantile = "histogram_quantile": [Scalar, Vector] -> Vector,
    HistogramQuantiles = "histogram_quantiles": [Vector, String, Scalar, Scalar] variadic 9 -> Vector,
    DoubleExponentialSmoothing = "double_exponential_smoothing": [Matrix, Scalar, Scalar] -> Vector,
    Hour = "hour": [Vector] variadic 1 -> Vector,
    Idelta = "idelta": [Matrix] -> Vector,
    Increase = "increase": [Matrix] -> Vector,
    Irate = "irate": [Matrix] -> Vector,
    LabelReplace = "label_replace": [Vector, String, String, String, String] -> Vector,
    LabelJoin = "label_join": [Vector, String, String, String] variadic -1 -> Vector,
    MaxOf = "max_of": [Scalar, Scalar] -> Scalar,
    LastOverTime = "last_over_time": [Matrix] -> Vector,
    MinOf = "min_of": [Scalar, Scalar] -> Scalar,
    Ln = "ln": [Vector] -> Vector,
    Log10 = "log10": [Vector] -> Vector,
    Log2 = "log2": [Vector] -> Vector,
    MadOverTime = "mad_over_time": [Matrix] -> Vector,
    MaxOverTime = "max_over_time": [Matrix] -> Vector,
    MinOverTime = "min_over_time": [Matrix] -> Vector,
    TsOfFirstOverTime = "ts_of_first_over_time": [Matrix] -> Vector,
    TsOfMaxOverTime = "ts_of_max_over_time": [Matrix] -> Vector,
    TsOfMinOverTime = "ts_of_min_over_time": [Matrix] -> Vector,
    TsOfLastOverTime = "ts_of_last_over_time": [Matrix] -> Vector,
    Minute = "minute": [Vector] variadic 1 -> Vector,
    Month = "month": [Vector] variadic 1 -> Vector,
    Pi = "pi": [] -> Scalar,
    PredictLinear = "predict_linear": [Matrix, Scalar] -> Vector,
    PresentOverTime = "present_over_time": [Matrix] -> Vector,
    QuantileOverTime = "quantile_over_time": [Scalar, Matrix] -> Vector,
    Rad = "rad": [Vector] -> Vector,
    Range = "range": [] -> Scalar,
    Rate = "rate": [Matrix] -> Vector,
    Resets = "resets": [Matrix] -> Vector,
    Round = "round": [Vector, Scalar] variadic 1 -> Vector,
    Scalar = "scalar": [Vector] -> Scalar,
    Sgn = "sgn": [Vector] -> Vector,
    Sin = "sin": [Vector] -> Vector,
    Sinh = "sinh": [Vector] -> Vector,
    Sort = "sort": [Vector] -> Vector,
    SortDesc = "sort_desc": [Vector] -> Vector,
    SortByLabel = "sort_by_label": [Vector, String] variadic -1 -> Vector,
    SortByLabelDesc = "sort_by_label_desc": [Vector, String] variadic -1 -> Vector,
    Sqrt = "sqrt": [Vector] -> Vector,
    Start = "start": [] -> Scalar,
    Step = "step": [] -> Scalar,
    StddevOverTime = "stddev_over_time": [Matrix] -> Vector,
    StdvarOverTime = "stdvar_over_time": [Matrix] -> Vector,
    SumOverTime = "sum_over_time": [Matrix] -> Vector,
    Tan = "tan": [Vector] -> Vector,
    Tanh = "tanh": [Vector] -> Vector,
    Time = "time": [] -> Scalar,
    Timestamp = "timestamp": [Vector] -> Vector,
    Vector = "vector": [Scalar] -> Vector,
    Year = "year": [Vector] variadic 1 -> Vector,
}

impl Function {
    pub fn from_name(name: &str) -> Option<Function> {
        ALL.iter().copied().find(|f| f.name() == name)
    }

    /// Functions whose result can change with the evaluation time even when their
    /// arguments do not (Prometheus's `AtModifierUnsafeFunctions`).
    pub fn at_modifier_unsafe(self) -> bool {
        use Function::*;
        matches!(
            self,
            DaysInMonth
                | DayOfMonth
                | DayOfWeek
                | DayOfYear
                | End
                | Hour
                | Minute
                | Month
                | Year
                | PredictLinear
                | Range
                | Start
                | Step
                | Time
                | Timestamp
        )
    }

    /// Range-vector functions that keep the metric name (they act like an offset).
    pub fn keeps_name(self) -> bool {
        matches!(self, Function::LastOverTime | Function::FirstOverTime)
    }

    /// All names, for completions and docs.
    pub fn all() -> &'static [Function] {
        ALL
    }
}
