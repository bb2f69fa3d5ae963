"""Variance constants of the M/M/1 customer-average waiting and sojourn times (FIFO, stationary).

Used by the M/M/1 test in ../src/mm1.rs (its tolerance is derived, not estimated). Run with any
Python that has sympy (not part of CI; takes about a minute):

    python3 -m venv /tmp/sympy-venv && /tmp/sympy-venv/bin/pip install sympy
    /tmp/sympy-venv/bin/python benches/peers/derivations/mm1_variance.py

Method: Poisson's equation for the waiting-time chain W_(n+1) = (W_n + S_n - A_(n+1))^+. Started
at w > 0, the chain is an unreflected random walk with drift -(1/lambda - 1/mu) until it first
goes below 0, with an Exponential(lambda) undershoot (memoryless interarrival times), so Wald's
identity and the martingale Z_k^2 + 2 delta sum Z_j - k E[X^2] give
phi(w) = sum_(k>=1) E[W_k - E W | W_1 = w] in closed form (plus the constant phi(0), fixed by
E_pi[phi] = 0). Then, with T = W + S,
    sigma_W^2 = Var W + 2 E[(W_0 - E W) E[phi(W_1) | W_0]]
    sigma_T^2 = Var T + 2 E[(T_0 - E T) E[phi((T_0 - A)^+) | T_0]]
(the service times after customer 0 are independent of T_0 and add nothing to the covariances).

Results: sigma_W^2 reproduces Daley's (1968) rho(2 + 5rho - 4rho^2 + rho^3)/(mu^2 (1 - rho)^4)
(35,901 at rho = 0.9), a check of the method; sigma_T^2 = (1 + rho)^2/(mu^2 (1 - rho)^4) (36,100 at
lambda = 0.9, mu = 1; the same closed form at (1/2, 1), (3/4, 2), (1/5, 1)). phi(0) = -900 at
(0.9, 1) is the expected total shortfall of the sojourn times of a queue that starts empty.
"""
import sympy as sp
lam, mu = sp.symbols('lambda mu', positive=True)
w, x, t, a, phi0 = sp.symbols('w x t a phi0', real=True)
def consts(lam, mu):
    th = mu - lam; rho = lam/mu
    delta = 1/lam - 1/mu
    EX2 = 1/mu**2 + 1/lam**2 + delta**2
    mW = rho/th
    return th, rho, delta, EX2, mW
def run(lam, mu):
    th, rho, delta, EX2, mW = consts(lam, mu)
    # phi(w), w>0: sum_{k>=1} E[W_k - mW | W_1 = w], excursion to 0 then phi0
    phi_pos = (w**2 + EX2*(w + 1/lam)/delta - 2/lam**2)/(2*delta) - mW*(w + 1/lam)/delta + phi0
    # E_pi[phi] = 0 fixes phi0
    Ephi = (1-rho)*phi0 + rho*sp.integrate(phi_pos*th*sp.exp(-th*w), (w, 0, sp.oo))
    p0 = sp.solve(sp.Eq(Ephi, 0), phi0)[0]
    phi_p = sp.simplify(phi_pos.subs(phi0, p0))
    print(f'lambda={lam} mu={mu}: phi(0) = {p0}')
    # check Poisson equation numerically at one point: phi(w) = E[phi(W2)|W1=w] + (w - mW) ... (phi sums from k=1 incl. w)
    c = lam*mu/(lam+mu)
    def step(h_pos, h0, wv):
        # E[h((wv + X)^+)], X = S - A
        e = h0*(c/lam)*sp.exp(-lam*wv)
        e += sp.integrate(h_pos.subs(w, wv + x)*c*sp.exp(lam*x), (x, -wv, 0))
        e += sp.integrate(h_pos.subs(w, wv + x)*c*sp.exp(-mu*x), (x, 0, sp.oo))
        return sp.simplify(e)
    wv = sp.Symbol('wv', positive=True)
    lhs = phi_p.subs(w, wv)
    rhs = (wv - mW) + step(phi_p, p0, wv)
    print('Poisson eq residual:', sp.simplify(lhs - rhs))
    # sigma^2_W = Var W + 2 E[(W0 - mW) Phi1(W0)], Phi1(w) = E[phi((w+X)^+)]
    Phi1 = step(phi_p, p0, wv)
    Phi1_0 = sp.limit(Phi1, wv, 0)
    VarW = rho*2/th**2 - mW**2
    EW = (1-rho)*(0 - mW)*Phi1_0 + rho*sp.integrate((wv - mW)*Phi1*th*sp.exp(-th*wv), (wv, 0, sp.oo))
    s2W = sp.simplify(VarW + 2*EW)
    # T: psi(t) = E[phi((t-A)^+)]
    tv = sp.Symbol('tv', positive=True)
    psi = p0*sp.exp(-lam*tv) + sp.integrate(phi_p.subs(w, tv - a)*lam*sp.exp(-lam*a), (a, 0, tv))
    mT = 1/th
    s2T = sp.simplify(1/th**2 + 2*sp.integrate((tv - mT)*psi*th*sp.exp(-th*tv), (tv, 0, sp.oo)))
    return s2W, s2T
s2W, s2T = run(sp.Rational(9,10), sp.Integer(1))
r = sp.Rational(9,10)
print('sigma2_W =', s2W, float(s2W), ' Daley:', float(r*(2+5*r-4*r**2+r**3)/(1-r)**4))
print('sigma2_T =', s2T, float(s2T))

# The closed form at other rates, and the empty-start bias phi(0).
for lam_, mu_ in ((sp.Rational(1, 2), sp.Integer(1)), (sp.Rational(3, 4), sp.Integer(2)), (sp.Rational(1, 5), sp.Integer(1))):
    s2W_, s2T_ = run(lam_, mu_)
    r_ = lam_ / mu_
    assert s2T_ == (1 + r_)**2 / (mu_**2 * (1 - r_)**4), (lam_, mu_, s2T_)
    assert s2W_ == r_ * (2 + 5*r_ - 4*r_**2 + r_**3) / (mu_**2 * (1 - r_)**4), (lam_, mu_, s2W_)
print('closed forms hold at (1/2, 1), (3/4, 2), (1/5, 1)')
