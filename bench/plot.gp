# bench/plot.gp: the sweep as a PNG (gnuplot -e "dir='build/bench/results'").
# Reads DIR/sweep.dat (bench/report), writes DIR/sweep.png: four panels
# against the number of volumes N, one line per method.
if (!exists("dir")) dir = "build/bench/results"
dat = dir."/sweep.dat"
methods = system("sed -n 's/^# methods: //p' ".dat)
label(m) = m eq "a" ? "(a) fsfreeze -f in turn" : \
	   m eq "b" ? "(b) fsfreeze -f all at once" : \
	   m eq "c" ? "(c) snapfreeze pre-script" : \
	   m eq "d" ? "(d) module, one level" : \
	   m eq "e" ? "(e) module, no levels" : "(n) nothing"
info = system("sed -n 's/^kernel: //p' ".dir."/machine.txt")

set terminal pngcairo size 1400,1000 font ",11"
set output dir."/sweep.png"
set datafile missing "NaN"
set key top left font ",10"
set grid
set yrange [0:*]
set xlabel "volumes N"
set logscale x 2
set multiplot layout 2,2 title "snapfreeze benchmark, ".info." (QEMU TCG, medians)"

set title "pre-script wall time"
set ylabel "s"
plot for [i=1:words(methods)] dat index (i-1) using 1:2 with linespoints lw 2 title label(word(methods,i)), \
     dat index 0 using 1:3 with lines dt 2 lw 2 lc rgb "black" title "physical limit max(dirty/bw)"

set title "skew: first target frozen to last"
set ylabel "ms"
set logscale y
set yrange [*:*]
plot for [i=1:words(methods)] dat index (i-1) using 1:4 with linespoints lw 2 title label(word(methods,i))

set title "longest write stall on the least dirty volume (whole cycle)"
plot for [i=1:words(methods)] dat index (i-1) using 1:5 with linespoints lw 2 title label(word(methods,i))

set title "post-script wall time (fsfreeze: the thaw loop)"
plot for [i=1:words(methods)] dat index (i-1) using 1:6 with linespoints lw 2 title label(word(methods,i))
unset multiplot
