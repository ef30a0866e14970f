# Reference values for tests/test_survival.py (jdmstats.survival: stratified Cox, cox.zph,
# interval-censored AFT with three distributions, Turnbull bootstrap replicates), from R's
# survival package.
#
# Run from the repository root:  Rscript tests/reference/survival_extra.R
# Writes tests/reference/survival_strata.csv, survival_interval2.csv, survival_veteran.csv
# (small fixed datasets: two simulated with set.seed, and survival::veteran) and
# tests/reference/survival_extra.json (numbers with 17 significant digits: digits = NA).
#
# Convergence controls (tight, so that the reference is the optimum and not R's stopping point):
#   coxph:    coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-13)
#   survreg:  survreg.control(rel.tolerance = 1e-12, iter.max = 200)
#   Turnbull: survival:::survfitTurnbull with its EM threshold lowered from 5e-5 to 1e-13
#             (as in survival_reference.R).
# cox.zph is survival 3.x's score test (no iteration): cox.zph(fit, transform, terms = TRUE).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(file_arg)) dirname(normalizePath(file_arg)) else "tests/reference"

turnbull_tight <- survival:::survfitTurnbull
body(turnbull_tight) <- parse(text = sub("eps > 5e-05", "eps > 1e-13",
                                         paste(deparse(body(turnbull_tight)), collapse = "\n"),
                                         fixed = TRUE))[[1]]
stopifnot(any(grepl("1e-13", deparse(body(turnbull_tight)))))

cox_ctrl <- coxph.control(eps = 1e-12, iter.max = 100, toler.chol = 1e-13)
reg_ctrl <- survreg.control(rel.tolerance = 1e-12, iter.max = 200)

# ------------------------------------------------------------------------------ datasets
# (1) right-censored, three strata, two covariates, tied times, 18 clusters
set.seed(20240701)
n <- 90
stratum <- rep(c("s1", "s2", "s3"), each = 30)
id <- sprintf("c%02d", sample(rep(1:18, each = 5)))
x1 <- rbinom(n, 1, 0.5)
x2 <- round(rnorm(n), 2)
base <- c(s1 = 8, s2 = 12, s3 = 5)[stratum]
t_true <- rweibull(n, shape = 1.4, scale = base * exp(-0.6 * x1 + 0.3 * x2))
cens <- runif(n, 4, 30)
strata_d <- data.frame(id = sprintf("s%02d", 1:n), stratum = stratum, cluster = id, x1 = x1,
                       x2 = x2, time = ceiling(pmin(t_true, cens)),
                       event = as.integer(t_true <= cens), stringsAsFactors = FALSE)
write.csv(strata_d, file.path(here, "survival_strata.csv"), row.names = FALSE, quote = FALSE)

# (2) interval-censored, log-logistic times, visits every 2 months, a binary and a continuous
#     covariate; kinds: exact, between two visits, "by the visit" (lower 0), right-censored
set.seed(20240702)
m <- 60
g <- rbinom(m, 1, 0.5)
x <- round(runif(m, -1, 1), 2)
w <- rlogis(m)
t2 <- exp(1.6 + 0.5 * g - 0.4 * x + 0.5 * w)
kind <- sample(c("exact", "between", "visit", "right"), m, replace = TRUE,
               prob = c(0.2, 0.4, 0.2, 0.2))
lower <- upper <- rep(NA_real_, m)
for (i in seq_len(m)) {
  after <- 2 * ceiling(t2[i] / 2)
  if (kind[i] == "exact") {
    lower[i] <- upper[i] <- round(t2[i], 2)
  } else if (kind[i] == "between") {
    lower[i] <- after - 2; upper[i] <- after
  } else if (kind[i] == "visit") {
    lower[i] <- 0; upper[i] <- after
  } else {
    lower[i] <- round(t2[i] * runif(1, 0.5, 1), 2)
  }
}
interval2 <- data.frame(id = sprintf("j%02d", 1:m), g = g, x = x, lower = lower,
                        upper = upper)
write.csv(interval2, file.path(here, "survival_interval2.csv"), row.names = FALSE,
          quote = FALSE, na = "")

# (3) survival::veteran (Kalbfleisch & Prentice 2002), the classic non-proportional-hazards
#     example (Karnofsky score)
vet <- survival::veteran
write.csv(vet, file.path(here, "survival_veteran.csv"), row.names = FALSE, quote = FALSE)

interval <- read.csv(file.path(here, "survival_interval.csv"), stringsAsFactors = FALSE,
                     na.strings = "")
right <- read.csv(file.path(here, "survival_right.csv"), stringsAsFactors = FALSE)

# ------------------------------------------------------------------------------ helpers
cox_list <- function(formula, data, ties = "efron") {
  f <- coxph(formula, data = data, ties = ties, control = cox_ctrl)
  robust <- !is.null(f$naive.var)
  list(formula = deparse(formula), ties = ties, coef = unname(coef(f)), names = names(coef(f)),
       se = unname(sqrt(diag(f$var))),
       naive_se = unname(sqrt(diag(if (robust) f$naive.var else f$var))),
       robust_se = if (robust) unname(sqrt(diag(f$var))) else NULL,
       loglik = f$loglik[2], loglik_null = f$loglik[1], n = f$n, nevent = f$nevent,
       iter = f$iter)
}

zph_list <- function(formula, data, transform, ties = "efron") {
  environment(formula) <- environment()  # cox.zph re-evaluates the model frame
  f <- coxph(formula, data = data, ties = ties, control = cox_ctrl)
  z <- cox.zph(f, transform = transform, terms = TRUE, global = TRUE)
  list(formula = deparse(formula), ties = ties, transform = transform,
       terms = rownames(z$table), chisq = unname(z$table[, "chisq"]),
       df = unname(z$table[, "df"]), p = unname(z$table[, "p"]))
}

surv2 <- function(d) {
  # Surv interval2: left NA = left-censored, right NA = right-censored, equal = exact
  Surv(ifelse(d$lower == 0 & !is.na(d$upper) & d$upper > 0, NA, d$lower), d$upper,
       type = "interval2")
}

survreg_list <- function(d, rhs, dist) {
  f <- survreg(as.formula(paste("surv2(d) ~", rhs)), data = d, dist = dist, control = reg_ctrl)
  list(rhs = rhs, dist = dist, coef = unname(coef(f)), names = names(coef(f)),
       log_scale = log(f$scale), vcov = unname(as.matrix(vcov(f))), loglik = f$loglik[2],
       n = nrow(d), iter = f$iter)
}

turnbull_curve <- function(lo, up, pts) {
  y <- Surv(lo, up, type = "interval2")
  if (all(y[, 3] %in% c(0, 1))) {
    f <- survfit(Surv(lo, as.integer(!is.na(up))) ~ 1)
  } else {
    f <- turnbull_tight(factor(rep(1, length(lo))), y, weights = rep(1, length(lo)),
                        conf.type = "none", se.fit = FALSE)
    class(f) <- "survfit"
  }
  summary(f, times = pts, extend = TRUE)$surv
}

boot_list <- function(d, n_boot, level = 0.95) {
  # cluster (patient) bootstrap: resample indices drawn here with R's own RNG, stored 0-based
  pats <- unique(d$patient)  # order of first appearance, as jdmstats
  k <- length(pats)
  idx <- t(replicate(n_boot, sample.int(k, k, replace = TRUE)))
  pts <- sort(unique(c(0, d$lower, d$upper[!is.na(d$upper)])))
  curves <- t(apply(idx, 1, function(ii) {
    rows <- unlist(lapply(pats[ii], function(p) which(d$patient == p)))
    turnbull_curve(d$lower[rows], d$upper[rows], pts)
  }))
  a <- (1 - level) / 2
  list(grid = pts, indices = unname(idx - 1L), level = level, curves = unname(curves),
       lower = unname(apply(curves, 2, quantile, probs = a, type = 7)),
       upper = unname(apply(curves, 2, quantile, probs = 1 - a, type = 7)))
}

# ------------------------------------------------------------------------------ reference
ref <- list()
ref$meta <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                 jsonlite = as.character(packageVersion("jsonlite")))

ref$cox <- list(
  strata_cluster = cox_list(Surv(time, event) ~ x1 + x2 + strata(stratum) + cluster(cluster),
                            strata_d),
  strata = cox_list(Surv(time, event) ~ x1 + x2 + strata(stratum), strata_d),
  strata_breslow = cox_list(Surv(time, event) ~ x1 + x2 + strata(stratum) + cluster(cluster),
                            strata_d, ties = "breslow"),
  nostrata_cluster = cox_list(Surv(time, event) ~ x1 + x2 + cluster(cluster), strata_d),
  veteran_strata = cox_list(Surv(time, status) ~ trt + karno + age + strata(celltype), vet),
  right_class_study = cox_list(Surv(time, event) ~ class + cluster(study), right)
)

ref$zph <- list()
for (tr in c("km", "identity", "rank", "log")) {
  ref$zph[[paste0("veteran_", tr)]] <- zph_list(Surv(time, status) ~ trt + karno + age +
                                                  factor(celltype), vet, tr)
  ref$zph[[paste0("veteran_strata_", tr)]] <- zph_list(Surv(time, status) ~ trt + karno + age +
                                                         strata(celltype), vet, tr)
}
ref$zph$strata_km <- zph_list(Surv(time, event) ~ x1 + x2 + strata(stratum), strata_d, "km")
ref$zph$strata_identity <- zph_list(Surv(time, event) ~ x1 + x2 + strata(stratum), strata_d,
                                    "identity")
ref$zph$strata_breslow_km <- zph_list(Surv(time, event) ~ x1 + x2 + strata(stratum), strata_d,
                                      "km", ties = "breslow")
ref$zph$right_class_km <- zph_list(Surv(time, event) ~ class, right, "km")

interval$class <- factor(interval$class)
ref$aft <- list()
for (dist in c("weibull", "lognormal", "loglogistic")) {
  ref$aft[[paste0("interval_", dist)]] <- survreg_list(interval, "class", dist)
  ref$aft[[paste0("interval2_", dist)]] <- survreg_list(interval2, "g + x", dist)
}

set.seed(20240703)
ref$bootstrap <- list()
for (cl in c("A", "B")) {
  ref$bootstrap[[cl]] <- boot_list(interval[interval$class == cl, ], n_boot = 40)
}

write_json(ref, file.path(here, "survival_extra.json"), digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null", null = "null")
cat("wrote", file.path(here, "survival_extra.json"), "\n")
