# Reference values for jdmstats.meta.effects / convert / glmm / proportion.
#
# Run from the repository root:   Rscript tests/reference/metafor_proportions.R
# Writes tests/reference/metafor_proportions.json (next to this script) at full precision.
#
# Contents
#   escalc   metafor::escalc for PR, PLO, PAS, PFT, OR, RD, MD, SMD, ZCOR on metadat datasets,
#            with the continuity-correction variants (add, to) and variance types (vtype)
#   ci       binom.test (Clopper-Pearson) and prop.test(correct=FALSE) (Wilson) intervals
#   transf   transf.ilogit / transf.iarcsin / transf.ipft.hm on a grid
#   glmm     rma.glmm(measure="PLO", method="ML") with nAGQ = 7 (metafor's default) and 1,
#            test = "z" and "t", on >= 5 proportion datasets (zero- and all-event studies incl.)
#   rma      rma(yi, vi) on escalc PLO/PAS/PFT/PR values, methods REML/DL/ML, tests z/knha,
#            with predict(transf=...) back-transformed estimate, CI and PI
#   conv     median/IQR/range -> mean/SD (Luo 2018 / Wan 2014 / Shi 2020): conv.fivenum when
#            the installed metafor has it (>= 4.0), otherwise an R transcription of the
#            published equations (recorded in conv$source)

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = FALSE)
file_arg <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(file_arg)) dirname(normalizePath(file_arg)) else "tests/reference"
out_path <- file.path(here, "metafor_proportions.json")

glmm_ctrl <- list(glmerCtrl = list(optimizer = "bobyqa",
                                   optCtrl = list(rhoend = 1e-12, maxfun = 1e5),
                                   tolPwrss = 1e-12))
rma_ctrl <- list(threshold = 1e-10, maxiter = 1000, stepadj = 0.5)

num <- function(x) unname(as.numeric(x))

# ------------------------------------------------------------------------------------------
# datasets
# ------------------------------------------------------------------------------------------
props <- list(
  pritz1997 = list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni),
  debruin2009 = list(xi = dat.debruin2009$xi, ni = dat.debruin2009$ni),
  hannum2020 = list(xi = dat.hannum2020$xi, ni = dat.hannum2020$ni),
  hasselblad1998 = list(xi = dat.hasselblad1998$xi, ni = dat.hasselblad1998$ni),
  nielweise2007_trt = list(xi = dat.nielweise2007$ai, ni = dat.nielweise2007$n1i),
  # constructed edge case: zero-event and all-event studies (documented, not from metadat)
  edge = list(xi = c(0, 3, 9, 7, 12, 1, 5, 4), ni = c(10, 15, 9, 20, 40, 8, 9, 30))
)

twogroup <- list(
  nielweise2007 = with(dat.nielweise2007, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i)),
  li2007 = with(dat.li2007, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i)),
  egger2001 = with(dat.egger2001, list(ai = ai, n1i = n1i, ci = ci, n2i = n2i))
)

means <- list(
  normand1999 = with(dat.normand1999, list(m1i = m1i, sd1i = sd1i, n1i = n1i,
                                           m2i = m2i, sd2i = sd2i, n2i = n2i)),
  curtis1998 = with(dat.curtis1998[1:30, ], list(m1i = m1i, sd1i = sd1i, n1i = n1i,
                                                 m2i = m2i, sd2i = sd2i, n2i = n2i))
)

cors <- list(
  molloy2014 = with(dat.molloy2014, list(ri = ri, ni = ni)),
  mcdaniel1994 = with(dat.mcdaniel1994[1:40, ], list(ri = ri, ni = ni))
)

# ------------------------------------------------------------------------------------------
# escalc
# ------------------------------------------------------------------------------------------
esc <- list()
add_case <- function(dataset, measure, es, add = NULL, to = "only0", vtype = "LS") {
  esc[[length(esc) + 1]] <<- list(dataset = dataset, measure = measure,
                                  add = if (is.null(add)) NA else add, to = to, vtype = vtype,
                                  yi = num(es$yi), vi = num(es$vi))
}

for (nm in names(props)) {
  d <- props[[nm]]
  for (m in c("PR", "PLO", "PAS", "PFT")) {
    add_case(nm, m, escalc(m, xi = d$xi, ni = d$ni))
  }
  add_case(nm, "PR", escalc("PR", xi = d$xi, ni = d$ni, vtype = "UB"), vtype = "UB")
  add_case(nm, "PR", escalc("PR", xi = d$xi, ni = d$ni, vtype = "AV"), vtype = "AV")
  add_case(nm, "PLO", escalc("PLO", xi = d$xi, ni = d$ni, vtype = "AV"), vtype = "AV")
  for (to in c("all", "if0all")) {
    add_case(nm, "PLO", escalc("PLO", xi = d$xi, ni = d$ni, to = to), to = to)
    add_case(nm, "PR", escalc("PR", xi = d$xi, ni = d$ni, to = to, add = 0.25), add = 0.25, to = to)
  }
  add_case(nm, "PAS", escalc("PAS", xi = d$xi, ni = d$ni, add = 0.5), add = 0.5)
  add_case(nm, "PFT", escalc("PFT", xi = d$xi, ni = d$ni, add = 0.5, to = "all"), add = 0.5, to = "all")
}
for (nm in names(twogroup)) {
  d <- twogroup[[nm]]
  for (m in c("OR", "RD")) {
    add_case(nm, m, escalc(m, ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i))
    for (to in c("all", "if0all", "none")) {
      if (m == "OR" && to == "none") next
      add_case(nm, m, escalc(m, ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i, to = to), to = to)
    }
  }
  for (vt in c("UB", "AV")) {
    add_case(nm, "RD", escalc("RD", ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i, vtype = vt),
             vtype = vt)
  }
}
for (nm in names(means)) {
  d <- means[[nm]]
  for (vt in c("LS", "HO")) {
    add_case(nm, "MD", with(d, escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i,
                                      sd2i = sd2i, n2i = n2i, vtype = vt)), vtype = vt)
  }
  for (vt in c("LS", "UB", "LS2", "AV")) {
    add_case(nm, "SMD", with(d, escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i,
                                       sd2i = sd2i, n2i = n2i, vtype = vt)), vtype = vt)
  }
}
for (nm in names(cors)) {
  d <- cors[[nm]]
  add_case(nm, "ZCOR", escalc("ZCOR", ri = d$ri, ni = d$ni))
}

# ------------------------------------------------------------------------------------------
# per-study confidence intervals
# ------------------------------------------------------------------------------------------
cis <- list()
for (nm in names(props)) {
  d <- props[[nm]]
  for (lev in c(0.95, 0.90)) {
    cp <- t(mapply(function(x, n) binom.test(x, n, conf.level = lev)$conf.int, d$xi, d$ni))
    wi <- t(mapply(function(x, n) suppressWarnings(prop.test(x, n, conf.level = lev, correct = FALSE))$conf.int,
                   d$xi, d$ni))
    cis[[length(cis) + 1]] <- list(dataset = nm, level = lev,
                                   cp_lower = num(cp[, 1]), cp_upper = num(cp[, 2]),
                                   wilson_lower = num(wi[, 1]), wilson_upper = num(wi[, 2]))
  }
}

# ------------------------------------------------------------------------------------------
# back-transformations
# ------------------------------------------------------------------------------------------
xs_logit <- seq(-6, 6, by = 0.75)
xs_as <- seq(-0.2, 1.8, by = 0.1)
ni_hm <- c(10, 25, 40, 7, 100)
transf <- list(
  x_logit = xs_logit, ilogit = num(transf.ilogit(xs_logit)),
  x_asin = xs_as, iarcsin = num(transf.iarcsin(xs_as)),
  ni = ni_hm, ipft_hm = num(transf.ipft.hm(xs_as, targs = list(ni = ni_hm)))
)

# ------------------------------------------------------------------------------------------
# GLMM
# ------------------------------------------------------------------------------------------
glmm <- list()
glmm_sets <- c("pritz1997", "debruin2009", "hannum2020", "hasselblad1998",
               "nielweise2007_trt", "edge")
for (nm in glmm_sets) {
  d <- props[[nm]]
  for (q in c(7, 1)) {
    for (tst in c("z", "t")) {
      res <- suppressWarnings(rma.glmm(measure = "PLO", xi = d$xi, ni = d$ni, nAGQ = q,
                                       test = tst, control = glmm_ctrl, retfit = TRUE))
      pr <- predict(res)
      prt <- predict(res, transf = transf.ilogit)
      glmm[[length(glmm) + 1]] <- list(
        dataset = nm, nAGQ = q, test = tst,
        beta = num(res$beta), se = num(res$se), zval = num(res$zval), pval = num(res$pval),
        ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub), tau2 = num(res$tau2),
        I2 = num(res$I2), H2 = num(res$H2),
        QE_Wld = num(res$QE.Wld), QEp_Wld = num(res$QEp.Wld),
        QE_LRT = num(res$QE.LRT), QEp_LRT = num(res$QEp.LRT), QE_df = num(res$QE.df),
        pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub),
        pred_prop = num(prt$pred), ci_lb_prop = num(prt$ci.lb), ci_ub_prop = num(prt$ci.ub),
        pi_lb_prop = num(prt$pi.lb), pi_ub_prop = num(prt$pi.ub),
        loglik_lme4 = num(logLik(res$res.ML))
      )
    }
  }
}

# ------------------------------------------------------------------------------------------
# inverse-variance random-effects on transformed proportions + back-transformation
# ------------------------------------------------------------------------------------------
rmas <- list()
rma_sets <- c("pritz1997", "debruin2009", "hannum2020", "nielweise2007_trt", "edge")
for (nm in rma_sets) {
  d <- props[[nm]]
  for (m in c("PLO", "PAS", "PFT", "PR")) {
    es <- escalc(m, xi = d$xi, ni = d$ni)
    for (meth in c("REML", "DL", "ML")) {
      for (tst in c("z", "knha")) {
        res <- rma(es$yi, es$vi, method = meth, test = tst, control = rma_ctrl)
        pr <- predict(res)
        tf <- switch(m, PLO = transf.ilogit, PAS = transf.iarcsin, PFT = transf.ipft.hm,
                     PR = function(x, ...) x)
        prt <- if (m == "PFT") predict(res, transf = tf, targs = list(ni = d$ni))
               else predict(res, transf = tf)
        rmas[[length(rmas) + 1]] <- list(
          dataset = nm, measure = m, method = meth, test = tst,
          beta = num(res$beta), se = num(res$se), ci_lb = num(res$ci.lb), ci_ub = num(res$ci.ub),
          pval = num(res$pval), tau2 = num(res$tau2), I2 = num(res$I2), H2 = num(res$H2),
          QE = num(res$QE), QEp = num(res$QEp),
          pi_lb = num(pr$pi.lb), pi_ub = num(pr$pi.ub),
          pred_prop = num(prt$pred), ci_lb_prop = num(prt$ci.lb), ci_ub_prop = num(prt$ci.ub),
          pi_lb_prop = num(prt$pi.lb), pi_ub_prop = num(prt$pi.ub)
        )
      }
    }
  }
}

# ------------------------------------------------------------------------------------------
# median / IQR / range -> mean / SD
# ------------------------------------------------------------------------------------------
conv_in <- data.frame(
  min = c(1, 5, NA, NA, 0.5, 2, 10, NA, 3, 1),
  q1 = c(NA, NA, 7, 20, 2, 4, 14, 3.1, 5, 2),
  median = c(10, 12, 10, 25, 4, 6, 17, 4.5, 6.5, 3),
  q3 = c(NA, NA, 14, 31, 6.5, 9, 21, 6.0, 8, 4.5),
  max = c(20, 30, NA, NA, 12, 14, 40, NA, 15, 9),
  n = c(40, 25, 40, 120, 18, 60, 300, 12, 8, 1000)
)
luo_wan_shi <- function(d) {
  n <- d$n
  xi <- 2 * qnorm((n - 0.375) / (n + 0.25))
  eta <- 2 * qnorm((0.75 * n - 0.125) / (n + 0.25))
  c1 <- !is.na(d$min) & !is.na(d$max) & is.na(d$q1)
  c2 <- is.na(d$min) & !is.na(d$q1)
  c3 <- !is.na(d$min) & !is.na(d$q1)
  m <- s <- rep(NA_real_, nrow(d))
  # Luo et al. (2018) eq. 7 / Wan et al. (2014) eq. 9
  w <- 4 / (4 + n^0.75)
  m[c1] <- (w * (d$min + d$max) / 2 + (1 - w) * d$median)[c1]
  s[c1] <- ((d$max - d$min) / xi)[c1]
  # Luo eq. 11 / Wan eq. 16
  w <- 0.7 + 0.39 / n
  m[c2] <- (w * (d$q1 + d$q3) / 2 + (1 - w) * d$median)[c2]
  s[c2] <- ((d$q3 - d$q1) / eta)[c2]
  # Luo eq. 15 / Shi et al. (2020) eq. 10
  w1 <- 2.2 / (2.2 + n^0.75)
  w2 <- 0.7 - 0.72 / n^0.55
  m[c3] <- (w1 * (d$min + d$max) / 2 + w2 * (d$q1 + d$q3) / 2 + (1 - w1 - w2) * d$median)[c3]
  w <- 1 / (1 + 0.07 * n^0.6)
  s[c3] <- (w * (d$max - d$min) / xi + (1 - w) * (d$q3 - d$q1) / eta)[c3]
  data.frame(mean = m, sd = s)
}
if (exists("conv.fivenum", envir = asNamespace("metafor"))) {
  cf <- conv.fivenum(min = min, q1 = q1, median = median, q3 = q3, max = max, n = n,
                     data = conv_in, test = FALSE, append = FALSE)
  conv_out <- data.frame(mean = num(cf$mean), sd = num(cf$sd))
  conv_source <- paste0("metafor::conv.fivenum (metafor ", packageVersion("metafor"), ")")
} else {
  conv_out <- luo_wan_shi(conv_in)
  conv_source <- paste0("R transcription of Luo 2018 eq. 7/11/15, Wan 2014 eq. 9/16, Shi 2020 eq. 10",
                        " (metafor ", packageVersion("metafor"), " has no conv.fivenum)")
}
conv <- list(source = conv_source, input = as.list(conv_in),
             mean = num(conv_out$mean), sd = num(conv_out$sd))

# ------------------------------------------------------------------------------------------
out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  metadat = as.character(packageVersion("metadat")),
                  lme4 = as.character(packageVersion("lme4"))),
  controls = list(glmm = "glmerCtrl: bobyqa rhoend=1e-12 maxfun=1e5, tolPwrss=1e-12",
                  rma = "threshold=1e-10, maxiter=1000, stepadj=0.5"),
  grid = list(prop_datasets = names(props), twogroup_datasets = names(twogroup),
              mean_datasets = names(means), cor_datasets = names(cors),
              glmm_datasets = glmm_sets, glmm_nAGQ = c(7, 1), glmm_tests = c("z", "t"),
              rma_datasets = rma_sets, rma_measures = c("PLO", "PAS", "PFT", "PR"),
              rma_methods = c("REML", "DL", "ML"), rma_tests = c("z", "knha"),
              ci_levels = c(0.95, 0.90)),
  datasets = list(props = props, twogroup = twogroup, means = means, cors = cors),
  escalc = esc, ci = cis, transf = transf, glmm = glmm, rma = rmas, conv = conv
)
write_json(out, out_path, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
cat("wrote", out_path, "\n")
