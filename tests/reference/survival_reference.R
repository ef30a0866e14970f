# Reference values for tests/test_response.py, from R's survival package.
#
# Run from the repository root:  Rscript tests/reference/survival_reference.R
# Writes tests/reference/survival_*.csv (small fixed synthetic datasets, written once by this
# script so that the tests are stable) and tests/reference/survival_reference.json.
#
# (a) synthetic data:  Kaplan-Meier (survfit, log-log CIs, quantile), Turnbull NPMLE (survfit with
#     Surv(type = "interval2")), coxph with cluster(), survreg weibull / lognormal with interval2
#     data, survdiff log-rank.
# (b) the bundled data/harmonised/episodes.csv: whatever is estimable (the same eligibility rule
#     as jdmstats.response: a class enters the models with >= 3 timed episodes and >= 1 event).
#     The JSON stores the SHA-256 of the CSV so that the tests fail clearly when it is stale:
#     re-run this script after the data change.
#
# survfit's Turnbull EM (survival:::survfitTurnbull) stops when the curve changes by less than
# 5e-5 between iterations; for a reference to 1e-6 this script also runs the same function with
# that threshold lowered to 1e-13 (body edited below) and stores both.

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
  library(digest)
})

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
root <- normalizePath(file.path(here, "..", ".."))

turnbull_tight <- survival:::survfitTurnbull
body(turnbull_tight) <- parse(text = sub("eps > 5e-05", "eps > 1e-13",
                                         paste(deparse(body(turnbull_tight)), collapse = "\n"),
                                         fixed = TRUE))[[1]]
stopifnot(any(grepl("1e-13", deparse(body(turnbull_tight)))))

# ------------------------------------------------------------------------------ synthetic data
set.seed(20240611)
n <- 36
cls <- rep(c("A", "B", "C"), each = 12)
study <- paste0("S", sample(rep(1:9, each = 4)))
patient <- paste0(study, "_P", rep(1:2, 18))
scale <- c(A = 6, B = 10, C = 16)[cls]
t_true <- round(rweibull(n, shape = 1.3, scale = scale) * 2) / 2 + 0.5
cens <- round(runif(n, 3, 24) * 2) / 2
event <- as.integer(t_true <= cens)
time <- pmin(t_true, cens)
right <- data.frame(id = sprintf("r%02d", 1:n), class = cls, study = study, patient = patient,
                    time = time, event = event, stringsAsFactors = FALSE)
write.csv(right, file.path(here, "survival_right.csv"), row.names = FALSE, quote = FALSE)

set.seed(20240612)
m <- 45
cls2 <- rep(c("A", "B", "C"), each = 15)
study2 <- paste0("S", sample(rep(1:9, each = 5)))
patient2 <- paste0(study2, "_P", sample(1:3, m, replace = TRUE))
t2 <- rweibull(m, shape = 1.5, scale = c(A = 5, B = 9, C = 14)[cls2])
kind <- sample(c("exact", "visit", "between", "right"), m, replace = TRUE,
               prob = c(0.2, 0.35, 0.25, 0.2))
lower <- upper <- censoring <- rep(NA_real_, m)
censoring <- rep(NA_character_, m)
for (i in seq_len(m)) {
  visits <- seq(3, 36, by = 3)
  after <- visits[visits >= t2[i]][1]
  if (is.na(after)) after <- 36
  if (kind[i] == "exact") {
    lower[i] <- upper[i] <- round(t2[i], 1); censoring[i] <- "exact"
  } else if (kind[i] == "visit") {
    lower[i] <- 0; upper[i] <- after; censoring[i] <- "interval"
  } else if (kind[i] == "between") {
    lower[i] <- max(0, after - 3); upper[i] <- after; censoring[i] <- "interval"
  } else {
    lower[i] <- round(runif(1, 1, 1.2) * t2[i] * 0.8, 1); upper[i] <- NA; censoring[i] <- "right"
  }
}
interval <- data.frame(id = sprintf("i%02d", 1:m), class = cls2, study = study2,
                       patient = patient2, lower = lower, upper = upper, censoring = censoring,
                       stringsAsFactors = FALSE)
write.csv(interval, file.path(here, "survival_interval.csv"), row.names = FALSE, quote = FALSE,
          na = "")

# edge cases: regression at time 0, zero-length episode (censored at 0), a class with no
# events, a class with a single episode, an exact time equal to a censoring time.
edge <- data.frame(
  id = sprintf("e%02d", 1:12),
  class = c("A", "A", "A", "A", "A", "B", "B", "B", "C", "D", "D", "D"),
  study = c("S1", "S1", "S2", "S2", "S3", "S3", "S4", "S4", "S5", "S6", "S6", "S7"),
  patient = c("P1", "P2", "P3", "P3", "P4", "P5", "P6", "P7", "P8", "P9", "P10", "P11"),
  lower = c(0, 0, 2, 0, 6, 3, 5, 8, 4, 0, 2, 2),
  upper = c(0, NA, 2, 6, 6, NA, NA, NA, 4, 4, 2, 6),
  censoring = c("exact", "right", "exact", "interval", "exact", "right", "right", "right",
                "exact", "interval", "exact", "interval"),
  stringsAsFactors = FALSE)
write.csv(edge, file.path(here, "survival_edge.csv"), row.names = FALSE, quote = FALSE, na = "")

# ------------------------------------------------------------------------------ helpers
km_list <- function(fit, conf.type) {
  s <- summary(fit, censored = TRUE)
  strata <- if (is.null(s$strata)) rep("all", length(s$time)) else
    sub("^class=", "", as.character(s$strata))
  q <- quantile(fit, probs = 0.5)
  qn <- if (is.null(dim(q$quantile))) "all" else sub("^class=", "", rownames(q$quantile))
  list(conf_type = conf.type,
       table = list(strata = strata, time = s$time, n_risk = s$n.risk, n_event = s$n.event,
                    n_censor = s$n.censor, surv = s$surv, std_err = s$std.err,
                    lower = s$lower, upper = s$upper),
       median = list(strata = qn, median = as.vector(q$quantile), lower = as.vector(q$lower),
                     upper = as.vector(q$upper)))
}

surv2 <- function(d) {
  # Surv interval2: left NA = left-censored, right NA = right-censored, equal = exact
  Surv(ifelse(d$lower == 0 & !is.na(d$upper) & d$upper > 0, NA, d$lower), d$upper,
       type = "interval2")
}

turnbull_list <- function(d) {
  out <- list()
  for (g in sort(unique(d$class))) {
    dd <- d[d$class == g, ]
    y <- Surv(dd$lower, dd$upper, type = "interval2")
    x <- factor(rep(1, nrow(dd)))
    pts <- sort(unique(c(dd$lower, dd$upper[!is.na(dd$upper)])))
    st <- attr(y, "type")
    status <- y[, 3]
    res <- list(times = pts)
    for (nm in c("tight", "default")) {
      fn <- if (nm == "tight") turnbull_tight else survival:::survfitTurnbull
      if (all(status %in% c(0, 1))) {
        f <- survfit(Surv(dd$lower, as.integer(!is.na(dd$upper))) ~ 1)
      } else {
        f <- fn(x, y, weights = rep(1, nrow(dd)), conf.type = "none", se.fit = FALSE)
        class(f) <- "survfit"
      }
      sv <- summary(f, times = pts, extend = TRUE)$surv
      res[[nm]] <- sv
    }
    out[[g]] <- res
  }
  out
}

cox_list <- function(formula, data) {
  f <- coxph(formula, data = data, ties = "efron",
             control = coxph.control(eps = 1e-11, iter.max = 100, toler.chol = 1e-13))
  list(coef = unname(coef(f)), names = names(coef(f)), robust_se = unname(sqrt(diag(f$var))),
       naive_se = unname(sqrt(diag(f$naive.var))), loglik = f$loglik[2], n = f$n,
       nevent = f$nevent)
}

survreg_list <- function(d, dist) {
  d$class <- factor(d$class)
  f <- survreg(surv2(d) ~ class, data = d, dist = dist,
               control = survreg.control(rel.tolerance = 1e-13, maxiter = 200))
  list(dist = dist, coef = unname(coef(f)), names = names(coef(f)), log_scale = log(f$scale),
       vcov = unname(as.matrix(vcov(f))), loglik = f$loglik[2], n = nrow(d))
}

logrank_list <- function(formula, data) {
  f <- survdiff(formula, data = data)
  list(chisq = f$chisq, df = length(f$n) - 1,
       pvalue = pchisq(f$chisq, length(f$n) - 1, lower.tail = FALSE),
       observed = unname(f$obs), expected = unname(f$exp),
       groups = sub("^class=", "", names(f$n)))
}

mid <- function(d) {
  t <- ifelse(d$censoring == "interval", (d$lower + d$upper) / 2, d$lower)
  data.frame(d, time = t, event = as.integer(d$censoring != "right"))
}

ref <- list()
ref$meta <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 jsonlite = as.character(packageVersion("jsonlite")))

ref$synthetic <- list(
  km_right = km_list(survfit(Surv(time, event) ~ class, data = right, conf.type = "log-log"),
                     "log-log"),
  km_right_log = km_list(survfit(Surv(time, event) ~ class, data = right, conf.type = "log"),
                         "log"),
  km_edge = km_list(survfit(Surv(lower, as.integer(censoring == "exact")) ~ class,
                            data = edge[edge$censoring != "interval", ], conf.type = "log-log"),
                    "log-log"),
  turnbull_interval = turnbull_list(interval),
  turnbull_edge = turnbull_list(edge),
  cox_right_study = cox_list(Surv(time, event) ~ class + cluster(study), right),
  cox_right_patient = cox_list(Surv(time, event) ~ class + cluster(patient), right),
  cox_interval_midpoint = cox_list(Surv(time, event) ~ class + cluster(study), mid(interval)),
  weibull_interval = survreg_list(interval, "weibull"),
  lognormal_interval = survreg_list(interval, "lognormal"),
  weibull_right = survreg_list(data.frame(class = right$class, lower = right$time,
                                          upper = ifelse(right$event == 1, right$time, NA)),
                               "weibull"),
  logrank_right = logrank_list(Surv(time, event) ~ class, right),
  logrank_interval_midpoint = logrank_list(Surv(time, event) ~ class, mid(interval))
)

# ------------------------------------------------------------------------------ bundled data
csv <- file.path(root, "data", "harmonised", "episodes.csv")
ep <- read.csv(csv, stringsAsFactors = FALSE, na.strings = "")
ep <- ep[ep$censoring %in% c("exact", "interval", "right") & !is.na(ep$time_lower_months), ]
bd <- data.frame(id = ep$episode_id, class = ep$therapy_class, study = ep$study_id,
                 patient = ep$patient_id, lower = ep$time_lower_months,
                 upper = ifelse(ep$censoring == "right", NA, ep$time_upper_months),
                 censoring = ep$censoring, stringsAsFactors = FALSE)
bundled <- list(sha256 = digest(file = csv, algo = "sha256"), n_timed = nrow(bd),
                classes = sort(unique(bd$class)))
if (nrow(bd) > 0) {
  bundled$turnbull <- turnbull_list(bd)
  er <- bd[bd$censoring != "interval", ]
  if (nrow(er) > 0) {
    er$time <- er$lower
    er$event <- as.integer(er$censoring == "exact")
    bundled$km <- km_list(survfit(Surv(time, event) ~ class, data = er, conf.type = "log-log"),
                          "log-log")
  }
  counts <- table(bd$class)
  events <- tapply(bd$censoring != "right", bd$class, sum)
  eligible <- names(counts)[counts >= 3 & events[names(counts)] >= 1]
  bundled$eligible <- eligible
  de <- bd[bd$class %in% eligible, ]
  if (length(eligible) >= 2) {
    bundled$weibull <- tryCatch(survreg_list(de, "weibull"), error = function(e) conditionMessage(e))
    bundled$lognormal <- tryCatch(survreg_list(de, "lognormal"),
                                  error = function(e) conditionMessage(e))
    bundled$cox_midpoint <- tryCatch(cox_list(Surv(time, event) ~ class + cluster(study),
                                              mid(de)), error = function(e) conditionMessage(e))
  }
}
ref$bundled <- bundled

write_json(ref, file.path(here, "survival_reference.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
cat("wrote", file.path(here, "survival_reference.json"), "\n")
