//! Deploy strategies and the traffic steps they walk. A step is the weight (percent) of
//! production traffic the new slot gets.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// ECS's own rolling update of each service.
    Rolling,
    /// Two slots: the new one gets 100% at once after its checks, then bakes under analysis.
    BlueGreen,
    /// Two slots: listed weights, each baked and analysed (`pause` holds traffic there).
    Canary(Vec<Step>),
    /// Two slots: `step` percent more every bake.
    Linear { step: u8 },
    /// Two slots: straight to 100% with no bake.
    AllAtOnce,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Weight(u8),
    /// Stop with traffic held at the previous weight; a gated job resumes or rolls back.
    Pause,
}

impl Strategy {
    pub fn parse(name: &str, steps: Option<&str>, linear_step: Option<&str>) -> Result<Strategy, String> {
        match name {
            "rolling" => Ok(Strategy::Rolling),
            "blue-green" => Ok(Strategy::BlueGreen),
            "all-at-once" => Ok(Strategy::AllAtOnce),
            "canary" => Ok(Strategy::Canary(parse_steps(steps.unwrap_or("5,10,25,50,100"))?)),
            "linear" => {
                let step = linear_step.unwrap_or("10").trim().trim_end_matches('%');
                match step.parse::<u8>() {
                    Ok(n) if (1..=100).contains(&n) => Ok(Strategy::Linear { step: n }),
                    _ => Err(format!("`{step}` is not a percentage between 1 and 100")),
                }
            }
            other => Err(format!(
                "`{other}` is not a strategy; use rolling, blue-green, canary, linear or all-at-once"
            )),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Rolling => "rolling",
            Strategy::BlueGreen => "blue-green",
            Strategy::Canary(_) => "canary",
            Strategy::Linear { .. } => "linear",
            Strategy::AllAtOnce => "all-at-once",
        }
    }

    pub fn uses_two_slots(&self) -> bool {
        !matches!(self, Strategy::Rolling)
    }

    /// The steps the new slot's weight walks through, always ending at 100.
    pub fn steps(&self) -> Vec<Step> {
        match self {
            Strategy::Rolling => vec![],
            Strategy::BlueGreen | Strategy::AllAtOnce => vec![Step::Weight(100)],
            Strategy::Canary(steps) => steps.clone(),
            Strategy::Linear { step } => {
                let mut out = Vec::new();
                let mut w = 0u16;
                while w < 100 {
                    w = (w + *step as u16).min(100);
                    out.push(Step::Weight(w as u8));
                }
                out
            }
        }
    }

    /// Whether a step at `weight` is baked and analysed (all-at-once never is).
    pub fn bakes(&self) -> bool {
        !matches!(self, Strategy::AllAtOnce)
    }
}

/// `5,10,25,50,100` or `5,pause,25,50,100`: ascending, 1–100, ending at 100.
pub fn parse_steps(s: &str) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    let mut last = 0u8;
    for item in s.split([',', ' ', '\n']).map(str::trim).filter(|x| !x.is_empty()) {
        if item.eq_ignore_ascii_case("pause") {
            if last == 0 {
                return Err("`pause` must follow a weight (there is no traffic to hold before the first step)".into());
            }
            steps.push(Step::Pause);
            continue;
        }
        let w: u8 = item
            .trim_end_matches('%')
            .parse()
            .map_err(|_| format!("`{item}` is not a weight; write percentages such as 5,10,25,50,100"))?;
        if !(1..=100).contains(&w) {
            return Err(format!("{w} is outside 1–100"));
        }
        if w <= last {
            return Err(format!("{w} does not go up from {last}; steps must be ascending"));
        }
        last = w;
        steps.push(Step::Weight(w));
    }
    if last != 100 {
        return Err("the last step must be 100, so the rollout ends with the new version live".into());
    }
    if matches!(steps.last(), Some(Step::Pause)) {
        return Err("a rollout cannot end on `pause`".into());
    }
    Ok(steps)
}

/// How long each step bakes; linear uses its interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bake {
    pub duration: Duration,
    /// How often analysis measures during the bake.
    pub interval: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use Step::*;

    #[test]
    fn canary_steps() {
        assert_eq!(
            parse_steps("5,10,25,50,100").unwrap(),
            vec![Weight(5), Weight(10), Weight(25), Weight(50), Weight(100)]
        );
        assert_eq!(
            parse_steps("5, pause, 25%, 100").unwrap(),
            vec![Weight(5), Pause, Weight(25), Weight(100)]
        );
        for bad in [
            "",
            "5,10",
            "10,5,100",
            "0,100",
            "5,101",
            "pause,100",
            "5,x,100",
            "5,5,100",
            "100,pause",
        ] {
            assert!(parse_steps(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn linear_walks_to_100() {
        let s = Strategy::parse("linear", None, Some("30")).unwrap();
        assert_eq!(s.steps(), vec![Weight(30), Weight(60), Weight(90), Weight(100)]);
        assert!(Strategy::parse("linear", None, Some("0")).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(
            Strategy::parse("blue-green", None, None).unwrap().steps(),
            vec![Weight(100)]
        );
        assert!(Strategy::parse("canary", None, None).unwrap().uses_two_slots());
        assert!(!Strategy::parse("rolling", None, None).unwrap().uses_two_slots());
        assert!(Strategy::parse("big-bang", None, None).is_err());
    }
}
