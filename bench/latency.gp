# Latency percentiles by scenario, drawn by bench/run.sh from the rows the driver writes:
# "<scenario> <via>" <TAB> p50 <TAB> p90 <TAB> p99 (total time of a streamed request, ms).
# gnuplot -e "data='run.tsv'; output='run.png'; heading='…'" bench/latency.gp
set terminal pngcairo size 1500,780 font "sans,10"
set output output
set title heading
set datafile separator "\t"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
# Scenarios span 1 ms to 2 s: a log scale keeps both ends readable; bars start at 0.1 ms.
set logscale y
set yrange [0.1:*]
set ylabel "total time per request, ms (log scale)"
set grid ytics mytics
set xtics rotate by -45 left scale 0 font ",9"
set key top left
set bmargin 12
plot data using 2:xtic(1) title "p50", '' using 3 title "p90", '' using 4 title "p99"
