# Reference values for jdmstats.meta.bayes (Bayesian random-effects meta-analysis) from R's
# bayesmeta 3.4 (Roever 2020, J Stat Softw 93(6)), installed from source into /work/Rlib with
# forestplot 3.1.6 (`R CMD INSTALL -l /work/Rlib <dir>`).
# Run from the repository root:
#     Rscript tests/reference/bayesmeta_reference.R
# Writes tests/reference/bayesmeta_reference.json next to this script.
#
# Controls: bayesmeta's defaults, which are already tight: rel.tol.integrate = tol.uniroot =
# 2^16 * .Machine$double.eps (1.5e-11), and the DIRECT grid delta = 0.01, epsilon = 1e-4 (the
# mixture approximation that jdmstats reproduces point by point; one case also uses
# delta = 0.002, epsilon = 1e-6).
# Where bayesmeta uses optimize() at its default tolerance (1.2e-4: posterior modes and the
# shortest intervals), the reference adds values computed from bayesmeta's own dposterior /
# pposterior / qposterior functions at tight tolerance: modes by optimize(tol = 1e-10), shortest
# 95% intervals by solving "equal density at both ends, 95% between" with uniroot(tol = 1e-12).
# bayesmeta's own (loose) values are stored too and compared at the tolerance optimize() gives.
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE),
                                                  value = TRUE))), "_setup.R"))
.libPaths(c("/work/Rlib", .libPaths()))
suppressPackageStartupMessages(library(bayesmeta))
out <- reference_path("bayesmeta_reference.json")

data("CrinsEtAl2014", package = "bayesmeta")
data("Rubin1981", package = "bayesmeta")
crins <- escalc(measure = "OR", ai = exp.AR.events, n1i = exp.total, ci = cont.AR.events,
                n2i = cont.total, slab = publication, data = CrinsEtAl2014)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
pritz <- escalc(measure = "PLO", xi = xi, ni = ni, data = dat.pritz1997)

level <- 0.95

tight_mode <- function(f, lower, upper, at0 = FALSE) {
  m <- optimize(f, lower = lower, upper = upper, maximum = TRUE, tol = 1e-10)
  if (at0 && f(0) > m$objective) return(0)
  m$maximum
}

# shortest interval of a unimodal density f with cdf p and quantile q: f(a) = f(q(p(a) + level))
tight_shortest <- function(f, p, q, lo, hi, lower_bound = NA) {
  g <- function(a) f(a) - f(q(p(a) + level))
  if (!is.na(lower_bound) && g(lower_bound) >= 0) return(c(lower_bound, q(level)))
  a <- uniroot(g, lower = lo, upper = hi, tol = 1e-12)$root
  c(a, q(p(a) + level))
}

tight_values <- function(bm) {
  top <- bm$qposterior(tau.p = 1 - level - 1e-7)
  tau_int <- tight_shortest(function(x) bm$dposterior(tau = x),
                            function(x) bm$pposterior(tau = x),
                            function(pp) bm$qposterior(tau.p = pp),
                            0, top, lower_bound = 0)
  tau_mode <- if (!is.finite(bm$dposterior(tau = 0))) 0 else
    tight_mode(function(x) bm$dposterior(tau = x), 0, bm$qposterior(tau.p = 0.9), at0 = TRUE)
  mu_fun <- function(predict = FALSE, individual = FALSE) {
    f <- function(x) bm$dposterior(mu = x, predict = predict, individual = individual)
    p <- function(x) bm$pposterior(mu = x, predict = predict, individual = individual)
    q <- function(pp) bm$qposterior(mu.p = pp, predict = predict, individual = individual)
    int <- tight_shortest(f, p, q, q((1 - level) / 50), q(1 - level - 1e-7))
    md <- tight_mode(f, q(0.1), q(0.9))
    c(mode = md, lower = int[1], upper = int[2])
  }
  mu <- mu_fun()
  theta <- mu_fun(predict = TRUE)
  shrink <- sapply(seq_len(bm$k), function(i) mu_fun(individual = i))
  list(tau = c(mode = tau_mode, lower = tau_int[1], upper = tau_int[2]),
       mu = mu, theta = theta,
       shrink_mode = unname(shrink["mode", ]),
       shrink_lower = unname(shrink["lower", ]), shrink_upper = unname(shrink["upper", ]))
}

mat <- function(m) list(rows = rownames(m), cols = colnames(m),
                        values = lapply(seq_len(nrow(m)), function(i) unname(m[i, ])))

probs <- c(0.001, 0.025, 0.1, 0.5, 0.9, 0.975, 0.999)

run_case <- function(name, y, sigma, labels, tau_prior, tau_prior_py, mu_prior_py,
                     mu.prior.mean = NA, mu.prior.sd = NA, delta = 0.01, epsilon = 1e-4) {
  cat(name, "\n")
  t0 <- proc.time()[["elapsed"]]
  bm <- bayesmeta(y = y, sigma = sigma, labels = labels, tau.prior = tau_prior,
                  mu.prior.mean = mu.prior.mean, mu.prior.sd = mu.prior.sd,
                  interval.type = "shortest", delta = delta, epsilon = epsilon)
  bmc <- bayesmeta(y = y, sigma = sigma, labels = labels, tau.prior = tau_prior,
                   mu.prior.mean = mu.prior.mean, mu.prior.sd = mu.prior.sd,
                   interval.type = "central", delta = delta, epsilon = epsilon)
  el <- proc.time()[["elapsed"]] - t0
  tq <- bm$qposterior(tau.p = probs)
  mq <- bm$qposterior(mu.p = probs)
  thq <- bm$qposterior(mu.p = probs, predict = TRUE)
  tau_pts <- c(0, tq[c(2, 4, 6)])
  mu_pts <- mq[c(2, 4, 6)]
  list(
    name = name, y = y, sigma = sigma, labels = labels,
    tau_prior = tau_prior_py, mu_prior = mu_prior_py, delta = delta, epsilon = epsilon,
    summary_shortest = mat(bm$summary), summary_central = mat(bmc$summary),
    theta_shortest = mat(bm$theta), theta_central = mat(bmc$theta),
    tight = tight_values(bm),
    support = list(tau = unname(bm$support[, "tau"]), weight = unname(bm$support[, "weight"])),
    weights = unname(bm$weights),
    marginal_likelihood = as.numeric(bm$marginal.likelihood),
    bayes_factor = mat(bm$bayesfactor),
    ml_marginal = unname(bm$ML["marginal", ]),
    tau_prior_proper = bm$tau.prior.proper,
    probs = probs, tau_quantiles = tq, mu_quantiles = mq, theta_quantiles = thq,
    tau_points = tau_pts, tau_density = bm$dposterior(tau = tau_pts),
    tau_cdf = bm$pposterior(tau = tau_pts),
    mu_points = mu_pts, mu_density = bm$dposterior(mu = mu_pts),
    mu_cdf = bm$pposterior(mu = mu_pts),
    theta_density = bm$dposterior(mu = mu_pts, predict = TRUE),
    likelihood_tau = bm$likelihood(tau = tau_pts),
    seconds = el
  )
}

hn <- function(s) function(t, log = FALSE) dhalfnormal(t, scale = s, log = log)
hc <- function(s) function(t, log = FALSE) dhalfcauchy(t, scale = s, log = log)
ht <- function(df, s) function(t, log = FALSE) dhalft(t, df = df, scale = s, log = log)
un <- function(u) function(t) dunif(t, min = 0, max = u)
uniform_mu <- list(type = "uniform")
normal_mu <- function(m, s) list(type = "normal", mean = m, sd = s)

cy <- as.numeric(crins$yi); cs <- sqrt(as.numeric(crins$vi)); cl <- as.character(CrinsEtAl2014$publication)
cases <- list(
  run_case("crins_halfnormal", cy, cs, cl, hn(0.5),
           list(type = "halfnormal", scale = 0.5), uniform_mu),
  run_case("rubin_halfcauchy_normalmu", Rubin1981$effect, Rubin1981$stderr, Rubin1981$school,
           hc(25), list(type = "halfcauchy", scale = 25), normal_mu(0, 50),
           mu.prior.mean = 0, mu.prior.sd = 50),
  run_case("crins_halfnormal_normalmu", cy, cs, cl, hn(0.5),
           list(type = "halfnormal", scale = 0.5), normal_mu(0, 4),
           mu.prior.mean = 0, mu.prior.sd = 4),
  run_case("crins_halft", cy, cs, cl, ht(3, 0.5),
           list(type = "halft", df = 3, scale = 0.5), uniform_mu),
  run_case("crins_uniform", cy, cs, cl, un(2),
           list(type = "uniform", upper = 2), normal_mu(0, 4),
           mu.prior.mean = 0, mu.prior.sd = 4),
  run_case("crins_jeffreys", cy, cs, cl, "Jeffreys", list(type = "jeffreys"), uniform_mu),
  run_case("crins_exponential_callable", cy, cs, cl, function(t) dexp(t, rate = 2),
           list(type = "exponential", rate = 2), uniform_mu),
  run_case("crins_halfnormal_fine_grid", cy, cs, cl, hn(0.5),
           list(type = "halfnormal", scale = 0.5), uniform_mu, delta = 0.002, epsilon = 1e-6),
  run_case("bcg2_halfnormal_normalmu", as.numeric(bcg$yi[1:2]), sqrt(as.numeric(bcg$vi[1:2])),
           c("Aronson", "Ferguson & Simes"), hn(0.5),
           list(type = "halfnormal", scale = 0.5), normal_mu(0, 4),
           mu.prior.mean = 0, mu.prior.sd = 4),
  run_case("bcg3_halfcauchy", as.numeric(bcg$yi[1:3]), sqrt(as.numeric(bcg$vi[1:3])),
           c("Aronson", "Ferguson & Simes", "Rosenthal et al"), hc(0.5),
           list(type = "halfcauchy", scale = 0.5), uniform_mu),
  run_case("bcg3_jeffreys", as.numeric(bcg$yi[1:3]), sqrt(as.numeric(bcg$vi[1:3])),
           c("Aronson", "Ferguson & Simes", "Rosenthal et al"), "Jeffreys",
           list(type = "jeffreys"), uniform_mu),
  run_case("pritz_plo_halfnormal", as.numeric(pritz$yi), sqrt(as.numeric(pritz$vi)),
           as.character(dat.pritz1997$authors), hn(1),
           list(type = "halfnormal", scale = 1), uniform_mu)
)

ref <- list(
  versions = list(bayesmeta = as.character(packageVersion("bayesmeta")),
                  metafor = as.character(packageVersion("metafor")),
                  R = R.version.string),
  pritz = list(xi = dat.pritz1997$xi, ni = dat.pritz1997$ni),
  cases = cases
)
writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), out)
cat("wrote", out, "\n")
