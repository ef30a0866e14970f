# Reference values for jdmstats.prevalence, jdmstats.delay and jdmstats.firth, computed in R
# (metafor for the meta-analyses, brglm2 + sandwich for the Firth logistic regression).
#
# One command, from the repository root (re-run whenever data/harmonised/ changes):
#     Rscript tests/reference/analyses_reference.R [HARMONISED_DIR]
# Writes tests/reference/analyses_reference.json (full precision) next to this script, with
# the sha256 of HARMONISED_DIR/cohorts.csv (default data/harmonised) so that the tests fail
# clearly when the JSON is stale.
#
# The analysis set, subgroup coding and median -> mean conversions are re-implemented here
# from the rules documented in jdmstats/prevalence.py and jdmstats/delay.py (Luo et al. 2018
# eq. 7/11 and Wan et al. 2014 eq. 9/16 transcribed: metafor 3.8-1 has no conv.fivenum).
suppressPackageStartupMessages({
  library(metafor)
  library(brglm2)
  library(sandwich)
  library(jsonlite)
  library(digest)
})

args <- commandArgs(trailingOnly = TRUE)
all_args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", all_args[grep("^--file=", all_args)])
outdir <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
datadir <- if (length(args) >= 1) args[1] else "data/harmonised"
out <- file.path(outdir, "analyses_reference.json")
cohorts_csv <- file.path(datadir, "cohorts.csv")

num <- function(x) if (is.null(x) || length(x) == 0) NA_real_ else as.numeric(x)
ctrl <- list(threshold = 1e-12, maxiter = 1000)
# tightened lme4 tolerances, as tests/reference/metafor_proportions.R
glmm_ctrl <- list(glmerCtrl = list(optimizer = "bobyqa",
                                   optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                                   tolPwrss = 1e-12))

coh <- read.csv(cohorts_csv, stringsAsFactors = FALSE, na.strings = "")
res <- list(
  cohorts_sha256 = digest(file = cohorts_csv, algo = "sha256"),
  data_dir = datadir,
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  brglm2 = as.character(packageVersion("brglm2")),
                  sandwich = as.character(packageVersion("sandwich")))
)

# ------------------------------------------------------------------ analysis set
as_bool <- function(x) toupper(as.character(x)) %in% c("TRUE", "T", "1")
inc <- as_bool(coh$include_primary) & !is.na(coh$n_calcinosis)
d <- coh[inc, ]
# overlaps among included cohorts: keep the larger (ties: the one named)
drop <- character(0)
for (i in seq_len(nrow(d))) {
  ov <- d$overlaps_with[i]
  if (is.na(ov) || ov == "" || d$cohort_id[i] %in% drop) next
  targets <- if (ov %in% d$cohort_id) ov else d$cohort_id[d$study_id == ov]
  targets <- setdiff(setdiff(targets, d$cohort_id[i]), drop)
  if (!length(targets)) next
  other <- targets[1]
  ni <- d$n_patients[i]; no <- d$n_patients[d$cohort_id == other]
  drop <- c(drop, if (ni <= no) d$cohort_id[i] else other)
}
d <- d[!(d$cohort_id %in% drop), ]
d <- d[order(d$year, d$cohort_id, method = "radix"), ]
res$analysis_set <- d$cohort_id
k <- nrow(d)

glmm_summary <- function(x, n) {
  if (length(x) < 2) return(NULL)
  fit <- suppressWarnings(rma.glmm(measure = "PLO", xi = x, ni = n, method = "ML",
                                  control = glmm_ctrl))
  p <- predict(fit, transf = transf.ilogit)
  list(k = fit$k, estimate_t = num(fit$beta), se_t = num(fit$se), tau2 = fit$tau2,
       i2 = fit$I2, estimate = num(p$pred), ci_low = num(p$ci.lb), ci_high = num(p$ci.ub),
       pi_low = num(p$pi.lb), pi_high = num(p$pi.ub))
}
iv_summary <- function(measure, x, n) {
  fit <- rma(measure = measure, xi = x, ni = n, method = "REML", test = "knha", control = ctrl)
  p <- if (measure == "PLO") predict(fit, transf = transf.ilogit) else
    predict(fit, transf = transf.ipft.hm, targs = list(ni = n))
  list(k = fit$k, estimate_t = num(fit$beta), se_t = num(fit$se), tau2 = fit$tau2,
       i2 = fit$I2, estimate = num(p$pred), ci_low = num(p$ci.lb), ci_high = num(p$ci.ub),
       pi_low = num(p$pi.lb), pi_high = num(p$pi.ub))
}

if (k >= 2) {
  x <- d$n_calcinosis; n <- d$n_patients
  models <- list()
  models$glmm_primary <- glmm_summary(x, n)
  models$iv_logit_reml_knha <- iv_summary("PLO", x, n)
  models$iv_freeman_tukey_reml_knha <- iv_summary("PFT", x, n)
  s <- d$source_level != "abstract"
  models$glmm_excluding_abstract_only <- glmm_summary(x[s], n[s])
  s <- is.na(d$calcinosis_timing) | d$calcinosis_timing != "at_diagnosis"
  models$glmm_excluding_at_diagnosis <- glmm_summary(x[s], n[s])
  res$prevalence <- models

  # three-level sensitivity model keeping the overlapping reports (jdmstats
  # prevalence.overlap_set / multilevel_overlaps): cohorts with a count linked to the analysis
  # set through overlaps_with (connected components), random = ~ 1 | group/cohort
  ca <- coh[!is.na(coh$n_calcinosis), ]
  par <- setNames(ca$cohort_id, ca$cohort_id)
  find <- function(v) { while (par[[v]] != v) v <- par[[v]]; v }
  for (i in seq_len(nrow(ca))) {
    ov <- ca$overlaps_with[i]
    if (is.na(ov) || trimws(ov) == "") next
    tg <- if (ov %in% ca$cohort_id) ov else ca$cohort_id[ca$study_id == ov]
    for (t in tg) { a <- find(ca$cohort_id[i]); b <- find(t); if (a != b) par[[a]] <- b }
  }
  roots <- unique(sapply(d$cohort_id, find))
  m <- ca[ca$cohort_id %in% d$cohort_id | sapply(ca$cohort_id, find) %in% roots, ]
  m <- m[order(m$year, m$cohort_id, method = "radix"), ]
  first <- list()
  for (cid in d$cohort_id) { r <- find(cid); if (is.null(first[[r]])) first[[r]] <- cid }
  m$group <- sapply(m$cohort_id, function(v) first[[find(v)]])
  if (nrow(m) > k) {
    esm <- escalc("PLO", xi = m$n_calcinosis, ni = m$n_patients)
    ml <- rma.mv(esm$yi, esm$vi, random = ~ 1 | group/cohort_id, data = cbind(esm, m),
                 method = "REML", control = list(optimizer = "optim", optmethod = "BFGS",
                                                  reltol = 1e-15, maxit = 10000))
    pm <- predict(ml, transf = transf.ilogit)
    res$prevalence_multilevel <- list(
      cohort_id = m$cohort_id, group = m$group, k = ml$k, estimate_t = num(ml$beta),
      se_t = num(ml$se), sigma2 = num(ml$sigma2), estimate = num(pm$pred),
      ci_low = num(pm$ci.lb), ci_high = num(pm$ci.ub), pi_low = num(pm$pi.lb),
      pi_high = num(pm$pi.ub), control = "rma.mv REML, optim BFGS reltol = 1e-15")
  }

  # leave-one-out (k >= 3)
  if (k >= 3) {
    iv <- rma(measure = "PLO", xi = x, ni = n, method = "REML", test = "knha", control = ctrl)
    l1 <- leave1out(iv, transf = transf.ilogit)
    g <- t(sapply(seq_len(k), function(i) {
      f <- glmm_summary(x[-i], n[-i]); c(f$estimate, f$ci_low, f$ci_high, f$tau2)
    }))
    res$leave1out <- list(cohort_id = d$cohort_id, iv_estimate = num(l1$estimate),
                          iv_ci_low = num(l1$ci.lb), iv_ci_high = num(l1$ci.ub),
                          iv_tau2 = num(l1$tau2), glmm_estimate = g[, 1], glmm_ci_low = g[, 2],
                          glmm_ci_high = g[, 3], glmm_tau2 = g[, 4])
  }

  # subgroups
  es <- escalc("PLO", xi = x, ni = n)
  s0 <- ifelse(is.na(d$period_start), NA, d$period_start)
  e0 <- ifelse(is.na(d$period_end), NA, d$period_end)
  mid <- ifelse(!is.na(s0) & !is.na(e0), (s0 + e0) / 2, ifelse(!is.na(s0), s0, e0))
  fu <- d$followup_months
  vars <- list(
    region = ifelse(is.na(d$region), "not_stated", d$region),
    enrolment_decade = ifelse(is.na(mid), "not_stated", paste0(floor(mid / 10) * 10, "s")),
    design = ifelse(is.na(d$design), "not_stated", d$design),
    followup_group = ifelse(is.na(fu), "not_stated", ifelse(fu < 36, "< 3 years", ">= 3 years")),
    calcinosis_timing = ifelse(is.na(d$calcinosis_timing), "not_stated", d$calcinosis_timing)
  )
  sub <- list()
  for (v in names(vars)) {
    gv <- vars[[v]]
    groups <- list()
    for (lv in sort(unique(gv), method = "radix")) {
      s <- gv == lv
      if (sum(s) >= 2) groups[[lv]] <- glmm_summary(x[s], n[s])
    }
    tested <- gv != "not_stated"
    levs <- unique(gv[tested])
    test <- NULL
    if (length(levs) >= 2) {
      yy <- es$yi[tested]; vv <- es$vi[tested]; gg <- gv[tested]
      est <- sapply(levs, function(l) {
        f <- rma(yy[gg == l], vv[gg == l], method = "REML", control = ctrl)
        c(num(f$beta), f$se)
      })
      qb <- rma(est[1, ], est[2, ]^2, method = "EE")
      test <- list(q_between = qb$QE, q_df = length(levs) - 1, q_pvalue = qb$QEp)
      if (sum(tested) > length(levs)) {
        mr <- rma(yy, vv, mods = ~ factor(gg), method = "REML", test = "knha", control = ctrl)
        test$f_moderator <- mr$QM; test$f_df1 <- mr$QMdf[1]; test$f_df2 <- mr$QMdf[2]
        test$f_pvalue <- mr$QMp
      }
    }
    sub[[v]] <- list(groups = groups, test = test)
  }
  res$subgroups <- sub

  # small-study effects
  if (k >= 3) {
    iv <- rma(measure = "PLO", xi = x, ni = n, method = "REML", test = "knha", control = ctrl)
    rn <- regtest(iv, predictor = "ninv")
    rs <- regtest(iv, predictor = "sei")
    res$small_study <- list(
      peters_inverse_n = list(statistic = rn$zval, df = rn$dfs, pvalue = rn$pval,
                              slope = num(coef(rn$fit)[2])),
      egger_logit_se = list(statistic = rs$zval, df = rs$dfs, pvalue = rs$pval,
                            slope = num(coef(rs$fit)[2])))
  }
}

# ------------------------------------------------------------------ delay conversions
convert <- function(val, stat, sd, spread, lo, hi, n) {
  m <- rep(NA_real_, length(val)); s <- m; usable <- rep(FALSE, length(val))
  for (i in seq_along(val)) {
    if (is.na(val[i])) next
    st <- ifelse(is.na(stat[i]), "not_stated", stat[i])
    if (st == "mean") { m[i] <- val[i]; s[i] <- sd[i]; usable[i] <- TRUE
    } else if (st == "median") {
      sp <- ifelse(is.na(spread[i]), "", spread[i])
      if (sp %in% c("iqr", "range") && !is.na(lo[i]) && !is.na(hi[i]) && !is.na(n[i]) && n[i] >= 5) {
        nn <- n[i]
        if (sp == "range") {
          w <- 4 / (4 + nn^0.75)
          m[i] <- w * (lo[i] + hi[i]) / 2 + (1 - w) * val[i]
          s[i] <- (hi[i] - lo[i]) / (2 * qnorm((nn - 0.375) / (nn + 0.25)))
        } else {
          w <- 0.7 + 0.39 / nn
          m[i] <- w * (lo[i] + hi[i]) / 2 + (1 - w) * val[i]
          s[i] <- (hi[i] - lo[i]) / (2 * qnorm((0.75 * nn - 0.125) / (nn + 0.25)))
        }
        usable[i] <- TRUE
      } else m[i] <- val[i]
    } else { m[i] <- val[i]; s[i] <- sd[i] }
  }
  list(mean = m, sd = s, usable = usable)
}
cv <- convert(coh$delay_months, coh$delay_stat, coh$delay_sd_months, coh$delay_spread,
              coh$delay_low_months, coh$delay_high_months, coh$n_patients)
res$delay_means <- list(cohort_id = coh$cohort_id, mean = cv$mean, sd = cv$sd,
                        usable = cv$usable)

metareg_ref <- function(yi, vi, xmod, seed = 1) {
  if (length(yi) < 3 || length(unique(xmod)) < 2) return(NULL)
  fit <- rma(yi, vi, mods = ~ xmod, method = "REML", test = "knha", control = ctrl)
  n_perm <- factorial(length(yi)) / prod(factorial(table(xmod)))
  set.seed(seed)
  pt <- suppressWarnings(permutest(fit, iter = 1000, progbar = FALSE))
  list(k = fit$k, estimate = num(fit$beta[2]), se = fit$se[2], ci_low = fit$ci.lb[2],
       ci_high = fit$ci.ub[2], pvalue = fit$pval[2], intercept = num(fit$beta[1]),
       tau2 = fit$tau2, i2 = fit$I2, r2 = num(fit$R2), pvalue_perm = pt$pval[2],
       perm_exact = n_perm <= 1000)
}

if (k >= 2) {
  yi <- es$yi; vi <- es$vi
  mreg <- list()
  mreg$year <- metareg_ref(yi, vi, d$year)
  s <- !is.na(d$followup_months)
  mreg$followup_months <- metareg_ref(yi[s], vi[s], d$followup_months[s])
  dm <- cv$mean[match(d$cohort_id, coh$cohort_id)]
  du <- cv$usable[match(d$cohort_id, coh$cohort_id)]
  s <- !is.na(dm)
  mreg$delay_mean_months <- metareg_ref(yi[s], vi[s], dm[s])
  res$prevalence_metareg <- mreg
  s2 <- s & du
  res$delay_metareg <- list(all_delays = mreg$delay_mean_months,
                            means_and_converted_medians = metareg_ref(yi[s2], vi[s2], dm[s2]))
}

# ------------------------------------------------------------------ delay: group level
a <- convert(coh$delay_calc_months, coh$delay_calc_stat, coh$delay_calc_sd_months,
             coh$delay_calc_spread, coh$delay_calc_low_months, coh$delay_calc_high_months,
             coh$delay_calc_n)
b <- convert(coh$delay_nocalc_months, coh$delay_nocalc_stat, coh$delay_nocalc_sd_months,
             coh$delay_nocalc_spread, coh$delay_nocalc_low_months, coh$delay_nocalc_high_months,
             coh$delay_nocalc_n)
ok <- a$usable & b$usable & !is.na(a$sd) & !is.na(b$sd) & a$sd > 0 & b$sd > 0 &
  !is.na(coh$delay_calc_n) & !is.na(coh$delay_nocalc_n)
res$group_md_k <- sum(ok)
if (sum(ok) >= 2) {
  e <- escalc("MD", m1i = a$mean[ok], m2i = b$mean[ok], sd1i = a$sd[ok], sd2i = b$sd[ok],
              n1i = coh$delay_calc_n[ok], n2i = coh$delay_nocalc_n[ok])
  f <- rma(e$yi, e$vi, method = "REML", test = "knha", control = ctrl)
  res$group_md <- list(k = f$k, estimate = num(f$beta), ci_low = f$ci.lb, ci_high = f$ci.ub,
                       tau2 = f$tau2)
}
o <- !is.na(coh$delay_or) & !is.na(coh$delay_or_ci_low) & !is.na(coh$delay_or_ci_high)
res$group_or_k <- sum(o)
if (sum(o) >= 2) {
  lev <- ifelse(is.na(coh$delay_or_level[o]), 0.95, coh$delay_or_level[o])
  sei <- (log(coh$delay_or_ci_high[o]) - log(coh$delay_or_ci_low[o])) / (2 * qnorm(1 - (1 - lev) / 2))
  f <- rma(log(coh$delay_or[o]), sei^2, method = "REML", test = "knha", control = ctrl)
  res$group_or <- list(k = f$k, estimate = exp(num(f$beta)), ci_low = exp(f$ci.lb),
                       ci_high = exp(f$ci.ub), tau2 = f$tau2)
}

# ------------------------------------------------------------------ Firth (brglm2)
data(endometrial, package = "brglm2")
endometrial$cl <- rep(1:8, length.out = nrow(endometrial))
X <- model.matrix(~ NV + PI + EH, endometrial)
y <- endometrial$HG
fit <- glm(HG ~ NV + PI + EH, family = binomial, data = endometrial, method = "brglmFit",
           type = "AS_mean", epsilon = 1e-12, maxit = 500)
beta <- coef(fit)
pll <- function(b) {
  eta <- drop(X %*% b); p <- plogis(eta)
  sum(y * eta - log1p(exp(eta))) + 0.5 * determinant(crossprod(X, X * (p * (1 - p))))$modulus
}
pll_hat <- pll(beta)
crit <- qchisq(0.95, 1)
profile_at <- function(j, bj) {
  f <- function(bfree) { b <- beta; b[j] <- bj; b[-j] <- bfree; -pll(b) }
  start <- beta[-j]
  o <- optim(start, f, method = "BFGS", control = list(reltol = 1e-15, maxit = 5000))
  o <- optim(o$par, f, method = "Nelder-Mead", control = list(reltol = 1e-15, maxit = 20000))
  o <- optim(o$par, f, method = "BFGS", control = list(reltol = 1e-16, maxit = 5000))
  -o$value
}
se <- sqrt(diag(vcov(fit)))
prof <- t(sapply(seq_along(beta), function(j) {
  g <- function(bj) 2 * (pll_hat - profile_at(j, bj)) - crit
  lo <- uniroot(g, c(beta[j] - 8 * se[j], beta[j]), tol = 1e-11)$root
  hi <- uniroot(g, c(beta[j], beta[j] + 8 * se[j]), tol = 1e-11)$root
  p0 <- pchisq(2 * (pll_hat - profile_at(j, 0)), 1, lower.tail = FALSE)
  c(lo, hi, p0)
}))
vc <- vcovCL(fit, cluster = ~ cl, type = "HC0", cadjust = TRUE)
res$firth_endometrial <- list(
  formula = "HG ~ NV + PI + EH (brglm2::endometrial; cluster = rep(1:8, length.out = 79))",
  terms = names(beta), estimate = unname(beta), se = unname(se),
  ci_low = prof[, 1], ci_high = prof[, 2], pvalue = prof[, 3],
  penalised_loglik = pll_hat, robust_se = unname(sqrt(diag(vc))),
  note = "profile CIs: R optim + uniroot on the full-model penalised log-likelihood (logistf not installed)",
  data = list(HG = endometrial$HG, NV = endometrial$NV, PI = endometrial$PI, EH = endometrial$EH,
              cl = endometrial$cl)
)

# ---- Q3: response per therapy class pooled over sources (tables/response_sources.csv, the
# per-source responders/assessed pairs that jdmstats writes; the counting itself is tested in
# tests/test_class_response.py). Per class: binom.test (Clopper-Pearson) of the total, and
# rma.glmm(measure = "PLO", method = "ML") over sources where >= 2 sources have children assessed.
rs <- read.csv("tables/response_sources.csv", stringsAsFactors = FALSE)
res$response_sources_sha256 <- digest(file = "tables/response_sources.csv", algo = "sha256")
res$response_pooled <- list()
for (cls in sort(unique(rs$class))) {
  sub <- rs[rs$class == cls, ]
  by <- aggregate(cbind(assessed, responders) ~ study_id, data = sub, FUN = sum)
  by <- by[by$assessed > 0, ]
  if (!nrow(by)) next
  x <- sum(by$responders); n <- sum(by$assessed)
  bt <- binom.test(x, n)
  entry <- list(k = nrow(by), responders = x, assessed = n, crude_ci_low = bt$conf.int[1],
                crude_ci_high = bt$conf.int[2], glmm = NULL)
  if (nrow(by) >= 2 && x > 0 && x < n) {
    fit <- try(suppressWarnings(rma.glmm(measure = "PLO", xi = by$responders, ni = by$assessed,
                                         method = "ML", control = glmm_ctrl)), silent = TRUE)
    if (!inherits(fit, "try-error") && fit$tau2 < 100) {
      p <- predict(fit, transf = transf.ilogit)
      entry$glmm <- list(estimate = num(p$pred), ci_low = num(p$ci.lb), ci_high = num(p$ci.ub),
                         tau2 = fit$tau2)
    }
  }
  res$response_pooled[[cls]] <- entry
}

writeLines(toJSON(res, digits = NA, auto_unbox = TRUE, null = "null", na = "null",
                  pretty = TRUE), out)
cat("wrote", out, "\n")
